"""Minimal Standard MIDI File reader and writer (written for this project).

Times are handled in seconds. The writer emits a format-1 file at a fixed
tempo of 60 quarter notes per minute with 1000 ticks per quarter, so one
tick is one millisecond and no tempo map is needed: all musical tempo
decisions are made before the events reach this module.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

TPQ = 1000  # ticks per quarter; at 60 qpm one tick = 1 ms


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


@dataclass
class Track:
    """Events of one MIDI channel: (time_s, order, bytes)."""
    channel: int
    program: int | None
    name: str = ""
    events: list = field(default_factory=list)

    def note(self, t: float, dur: float, pitch: int, vel: int) -> None:
        if dur <= 0 or not (0 <= pitch <= 127):
            return
        vel = max(1, min(127, int(round(vel))))
        ch = self.channel
        # order: note-offs (0) before controllers (1) before note-ons (2) at equal times
        self.events.append((t, 2, bytes([0x90 | ch, pitch, vel])))
        self.events.append((t + dur, 0, bytes([0x80 | ch, pitch, 0])))

    def cc(self, t: float, num: int, val: int) -> None:
        self.events.append((t, 1, bytes([0xB0 | self.channel, num, max(0, min(127, int(val)))])))

    def bend(self, t: float, val14: int) -> None:
        val14 = max(0, min(16383, int(val14)))
        self.events.append((t, 1, bytes([0xE0 | self.channel, val14 & 0x7F, val14 >> 7])))

    def prog(self, t: float, program: int) -> None:
        self.events.append((t, 1, bytes([0xC0 | self.channel, program & 0x7F])))


def write_smf(path: str, tracks: list[Track], end_s: float) -> None:
    chunks = []
    # conductor track: tempo 60 qpm (1,000,000 us per quarter), 4/4 (nominal)
    tempo = b"\x00\xFF\x51\x03" + (1_000_000).to_bytes(3, "big")
    ts = b"\x00\xFF\x58\x04\x04\x02\x18\x08"
    end_tick = int(round(end_s * 1000))
    conductor = tempo + ts + _vlq(end_tick) + b"\xFF\x2F\x00"
    chunks.append(conductor)
    for tr in tracks:
        evs = []
        if tr.name:
            nm = tr.name.encode("ascii", "replace")[:60]
            evs.append((0, -2, b"\xFF\x03" + _vlq(len(nm)) + nm))
        if tr.program is not None and tr.channel != 9:
            evs.append((0, -1, bytes([0xC0 | tr.channel, tr.program & 0x7F])))
        for t, order, data in tr.events:
            tick = max(0, int(round(t * 1000)))
            evs.append((tick, order, data))
        evs.sort(key=lambda e: (e[0], e[1], e[2]))
        body = bytearray()
        last = 0
        for tick, _, data in evs:
            body += _vlq(tick - last)
            last = tick
            body += data
        body += _vlq(max(0, end_tick - last)) + b"\xFF\x2F\x00"
        chunks.append(bytes(body))
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), TPQ))
        for c in chunks:
            f.write(b"MTrk" + struct.pack(">I", len(c)) + c)


# ---------------------------------------------------------------- reading

@dataclass
class MidiNote:
    t: float       # onset, seconds
    dur: float     # seconds
    pitch: int
    vel: int
    channel: int
    program: int   # program in force at the onset (drums: channel 9)


@dataclass
class MidiFileData:
    notes: list            # MidiNote, sorted by time
    controls: list         # (t, channel, kind, a, b): kind 'cc' (a=num, b=val), 'bend' (a=14-bit), 'prog' (a=prog)
    tempos: list           # (t_s, us_per_quarter)
    timesigs: list         # (t_s, num, den)
    length: float          # seconds, last note-off


def read_smf(path: str) -> MidiFileData:
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"MThd":
        raise ValueError("not a Standard MIDI File")
    hlen, fmt, ntrk, division = struct.unpack(">IHHH", data[4:14])
    if division & 0x8000:
        raise ValueError("SMPTE time division not supported")
    pos = 8 + hlen
    raw = []  # (tick, seq, track, kind, payload)
    seq = 0
    for ti in range(ntrk):
        if data[pos:pos + 4] != b"MTrk":
            break
        (ln,) = struct.unpack(">I", data[pos + 4:pos + 8])
        p, end = pos + 8, pos + 8 + ln
        pos = end
        tick, status = 0, 0
        while p < end:
            delta = 0
            while True:
                b = data[p]; p += 1
                delta = (delta << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
            tick += delta
            b = data[p]
            if b == 0xFF:
                typ = data[p + 1]; p += 2
                ln2 = 0
                while True:
                    c = data[p]; p += 1
                    ln2 = (ln2 << 7) | (c & 0x7F)
                    if not c & 0x80:
                        break
                payload = data[p:p + ln2]; p += ln2
                if typ == 0x51 and ln2 == 3:
                    raw.append((tick, seq, ti, "tempo", int.from_bytes(payload, "big")))
                elif typ == 0x58 and ln2 >= 2:
                    raw.append((tick, seq, ti, "ts", (payload[0], 2 ** payload[1])))
                elif typ == 0x2F:
                    break
            elif b in (0xF0, 0xF7):
                p += 1
                ln2 = 0
                while True:
                    c = data[p]; p += 1
                    ln2 = (ln2 << 7) | (c & 0x7F)
                    if not c & 0x80:
                        break
                p += ln2
            else:
                if b & 0x80:
                    status = b; p += 1
                hi = status & 0xF0
                nbytes = 1 if hi in (0xC0, 0xD0) else 2
                d = data[p:p + nbytes]; p += nbytes
                raw.append((tick, seq, ti, "ev", (status, bytes(d))))
            seq += 1
    raw.sort(key=lambda r: (r[0], r[1]))
    # tempo map: tick -> seconds
    tempo_pts = [(0, 0.0, 500000)]
    for tick, _, _, kind, val in raw:
        if kind == "tempo":
            t0, s0, us = tempo_pts[-1]
            s = s0 + (tick - t0) * us / 1e6 / division
            if tick == t0:
                tempo_pts[-1] = (tick, s0, val)
            else:
                tempo_pts.append((tick, s, val))

    def sec(tick):
        lo = 0
        for i in range(len(tempo_pts)):
            if tempo_pts[i][0] <= tick:
                lo = i
            else:
                break
        t0, s0, us = tempo_pts[lo]
        return s0 + (tick - t0) * us / 1e6 / division

    program = [0] * 16
    active = {}
    notes, controls, timesigs = [], [], []
    for tick, _, _, kind, val in raw:
        t = sec(tick)
        if kind == "ts":
            timesigs.append((t, val[0], val[1]))
            continue
        if kind != "ev":
            continue
        status, d = val
        hi, ch = status & 0xF0, status & 0x0F
        if hi == 0x90 and d[1] > 0:
            active.setdefault((ch, d[0]), []).append((t, d[1], program[ch]))
        elif hi == 0x80 or (hi == 0x90 and d[1] == 0):
            lst = active.get((ch, d[0]))
            if lst:
                t0, v, pr = lst.pop(0)
                notes.append(MidiNote(t0, max(0.01, t - t0), d[0], v, ch, pr))
        elif hi == 0xC0:
            program[ch] = d[0]
            controls.append((t, ch, "prog", d[0], 0))
        elif hi == 0xB0:
            controls.append((t, ch, "cc", d[0], d[1]))
        elif hi == 0xE0:
            controls.append((t, ch, "bend", d[0] | (d[1] << 7), 0))
    notes.sort(key=lambda n: (n.t, n.channel, n.pitch))
    length = max((n.t + n.dur for n in notes), default=0.0)
    tempos = [(s, us) for (_, s, us) in tempo_pts]
    return MidiFileData(notes, controls, tempos, timesigs, length)
