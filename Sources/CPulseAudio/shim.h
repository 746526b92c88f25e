// PulseAudio / PipeWire-pulse capture: the simple API for the monitor source, the full API to list sources.
#include <pulse/simple.h>
#include <pulse/error.h>
#include <pulse/pulseaudio.h>
