#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one clock for timeouts, deadlines and elapsed times: CLOCK_MONOTONIC, which never jumps
/// with the wall clock. Times are nanoseconds since an arbitrary start (boot), as `UInt64`.
/// `ConditionLock` waits on the same clock, so a deadline from here is a deadline there.
/// (The C audio callbacks read CLOCK_MONOTONIC themselves: `CAudioCapture_monotonic_ns`.)
public enum Monotonic {
    /// Now, in nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Now, in seconds (for arithmetic on durations in seconds).
    @inline(__always)
    public static func seconds() -> Double { Double(now()) / 1e9 }

    /// The instant `seconds` from now (negative counts as 0; capped at about 30 years).
    public static func deadline(after seconds: Double) -> UInt64 {
        now() &+ UInt64(min(max(0, seconds), 1e9) * 1e9)
    }

    /// Seconds elapsed since `start` (a value of `now()`).
    @inline(__always)
    public static func secondsSince(_ start: UInt64) -> Double {
        Double(now() &- start) / 1e9
    }

    /// Seconds left until `deadline` (negative once it has passed).
    public static func secondsUntil(_ deadline: UInt64) -> Double {
        let now = now()
        return deadline >= now ? Double(deadline - now) / 1e9 : -Double(now - deadline) / 1e9
    }

    static func cTime(at nanoseconds: UInt64) -> Glibc.timespec {
        Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }
}
