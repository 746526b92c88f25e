// libsystemd: sd_notify for Type=notify readiness, status and the watchdog.
#include <systemd/sd-daemon.h>
