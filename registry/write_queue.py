"""SQLite: writers of every process take the database's write lock in the order they asked.

SQLite has one write lock per database. A writer that finds it taken sleeps in its busy
handler (1, 2, 5 … 100 ms between tries) and is never told when it is released: while two
import workers commit transaction after transaction, a web request polling every 100 ms can
miss the lock for seconds (README, "Imports beside registrations"). Here a write transaction
first takes a ticket in a queue kept beside the database (`<database>-queue`, mode 0600)
and sleeps in the kernel until the transaction ahead of it has ended: it wakes at once, and
nobody overtakes it. SQLite's own lock still decides; the queue only orders those who ask.

The queue is made of open file description locks (fcntl `F_OFD_SETLKW`, Linux), so each
connection queues on its own descriptor, threads of one process as well as processes:
- byte 0 is held for the instant of taking a ticket; the next ticket's number is the
  file's first 8 bytes;
- ticket t holds byte SLOTS_AT + t % SLOTS from then until its transaction ends, and
  ticket t + 1 waits to take that byte, then lets it go.
A process that dies releases its locks with its descriptors, so the queue moves on. A
writer that has waited `wait` seconds goes on to SQLite's lock (and its busy timeout), as
before: a connection that writes while another of its own thread holds a write
transaction is not stuck for good.
"""
from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading

SLOTS_AT = 1 << 20  # past the counter: the locked bytes need not exist in the file
SLOTS = 1 << 20  # tickets in flight at once, at most: far more than there are connections
COUNTER = struct.Struct("<Q")
SUPPORTED = hasattr(fcntl, "F_OFD_SETLKW")  # Linux 3.15+; elsewhere each process queues its own threads only


def queue_path(database: str) -> str:
    return database + "-queue"


def _lock(fd: int, offset: int, *, wait: bool) -> bool:
    """Take byte `offset` for this open file description; False if another holds it (no wait)."""
    command = fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK
    try:
        fcntl.fcntl(fd, command, struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0))
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _unlock(fd: int, offset: int) -> None:
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_UNLCK, os.SEEK_SET, offset, 1, 0))


def _slot(ticket: int) -> int:
    return SLOTS_AT + ticket % SLOTS


class Place:
    """One connection's place in the queue: its own open file description of the queue file."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.ticket: int | None = None
        self.pid = os.getpid()  # a fork shares the description (and its locks): only its maker lets go

    def take_turn(self, wait: float) -> bool:
        """Take a ticket and wait for the transaction ahead of it to end, at most `wait`
        seconds. True when it is this connection's turn; False when it gave up waiting (the
        ticket is held all the same, until `leave`, so the queue behind stays in order)."""
        self.leave()  # one turn at a time: one left unfinished ends here
        _lock(self.fd, 0, wait=True)
        try:
            raw = os.pread(self.fd, COUNTER.size, 0)
            ticket = COUNTER.unpack(raw)[0] if len(raw) == COUNTER.size else 0
            os.pwrite(self.fd, COUNTER.pack(ticket + 1), 0)
            _lock(self.fd, _slot(ticket), wait=True)  # free: its last holder was SLOTS tickets ago
            self.ticket = ticket
        finally:
            _unlock(self.fd, 0)
        return ticket == 0 or self._wait_for(_slot(ticket - 1), wait)

    def _wait_for(self, offset: int, seconds: float) -> bool:
        """The byte at `offset` taken and let go: its holder's transaction has ended."""
        if _lock(self.fd, offset, wait=False):
            _unlock(self.fd, offset)
            return True
        # Blocked in the kernel by a helper thread, so that this one can stop waiting after
        # `seconds` (a lock wait cannot be interrupted). It works on a duplicate of the
        # descriptor: the same open file description (the same lock owner), kept open until
        # it is done whatever becomes of this place.
        done = threading.Event()
        duplicate = os.dup(self.fd)

        def wait_in_kernel() -> None:
            try:
                _lock(duplicate, offset, wait=True)
                _unlock(duplicate, offset)
                done.set()
            except OSError:
                pass
            finally:
                os.close(duplicate)

        threading.Thread(target=wait_in_kernel, name="sqlite-write-queue", daemon=True).start()
        return done.wait(seconds)

    def leave(self) -> None:
        """The transaction has ended: the next ticket's turn."""
        ticket, self.ticket = self.ticket, None
        if ticket is not None and self.fd >= 0 and os.getpid() == self.pid:
            _unlock(self.fd, _slot(ticket))

    def close(self) -> None:
        """The connection is closed: leave, and give the descriptor back."""
        self.leave()
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:  # a connection dropped unclosed (a fork's inherited pool)
        fd, self.fd = getattr(self, "fd", -1), -1
        if fd >= 0:
            os.close(fd)  # not a release: the description may live on in another process
