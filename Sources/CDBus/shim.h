// libdbus-1: the daemon's control interface and caption signal.
#include <dbus/dbus.h>
