"""The persistent run store: finished runs kept across restarts and shared by app replicas (no streamlit here).

``open_store()`` picks the store from the environment variable ``BNLAB_STORE``:
- unset or empty: ``DiskStore()``, a private folder under the user's cache folder (or ``BNLAB_STORE_DIR``);
- a folder path: ``DiskStore(path)``;
- ``redis://…`` (or ``rediss://``, ``unix://``): ``RedisStore(url)``, one store shared by several replicas.

Keys are experiment keys (a frozen TrainConfig, or a tuple of such and strings); ``run_key`` turns one into text
that also holds ``engine_version()``, a digest of the bn_core source, so a change to the engine never serves a
stale run. Both stores have the same methods: ``get``/``put`` for finished runs, ``lease``/``release`` so that a
run one process trains is not trained again by another at the same time, and ``put_progress``/``get_progress``
for the latest partial value of a run being trained, which the others show meanwhile.

Every entry is ``encode(value)``: a 64-byte header (magic, engine version, sha256 and length of the payload) and
a zlib-compressed pickle. A truncated, corrupt or half-written entry, or one of another engine version, fails the
check: ``get`` returns None and drops it, so the run is trained and stored again. Store trouble at run time (disk
full, Redis gone) is logged, never raised into a page: the store is a cache, the app works without it.

Security: values are pickles, and unpickling runs code named in the data. That is safe only because this app's
own server is the only writer. Never point BNLAB_STORE or BNLAB_STORE_DIR at a folder that other users can write
(a shared /tmp, a network share, someone else's home), nor at a Redis that anyone else can reach or write (no
password, listening on a public interface), and never copy entries in from elsewhere. DiskStore creates its
folders private (0700) and refuses a world-writable one.
"""
import dataclasses
import enum
import hashlib
import json
import logging
import numbers
import os
import pickle
import re
import socket
import struct
import sys
import threading
import time
import uuid
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import bn_core

try:
    import fcntl  # POSIX: leases hold across processes
except ImportError:  # Windows: leases hold within one process only (one server process is the usual case there)
    fcntl = None

log = logging.getLogger(__name__)

ENGINE_DIR = Path(bn_core.__file__).resolve().parent
MAGIC = b"BNLRUN01"  # the entry format; another format is just a bad entry, rewritten
HEADER = struct.Struct(">8s16s32sQ")  # magic, engine version (16 hex digits), sha256 of the payload, payload length
ZLIB_LEVEL = 1  # float arrays barely compress: on the default record, 6% over level 9's size in a tenth of its time
PROGRESS_TTL = 60.0  # seconds: progress not updated for this long belongs to a trainer that died
STALE_TEMP = 3600.0  # seconds: a temp file this old was left by a writer that died
DEFAULT_MAX_MB = 1024


class StoreError(RuntimeError):
    """A store that cannot be opened as configured (raised at startup, with what to change)."""


class BadEntry(ValueError):
    """Stored bytes that are not a whole, intact entry of this engine version."""


# --- keys ------------------------------------------------------------------------------------------------------

_engine_cache = {}


def engine_version():
    """A short digest of the source of every bn_core/*.py file. Recomputed when a file changes (Streamlit reloads
    edited modules in a running server), so any engine change gives new keys."""
    files = sorted(ENGINE_DIR.glob("*.py"))
    signature = tuple((p.name, st.st_mtime_ns, st.st_size) for p in files for st in [p.stat()])
    if signature not in _engine_cache:
        digest = hashlib.sha256()
        for p in files:
            digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        _engine_cache.clear()
        _engine_cache[signature] = digest.hexdigest()[:16]
    return _engine_cache[signature]


def canonical(value):
    """Text that is equal for equal keys, in any process (``hash()`` and set order change between processes).

    Numbers equal under ``==`` give the same text (1 == 1.0 == True; -0.0 == 0.0), as they give the same run.
    Dataclasses by class and compared fields; tuples, lists, sets, dicts, strings, bytes, None and enums nest.
    Anything else raises TypeError: its repr may hold a memory address, which would never match again.
    """
    if value is None or isinstance(value, str | bytes):
        return repr(value)
    if isinstance(value, bool | np.bool_ | numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(value, numbers.Complex):
        return repr(complex(value))
    if isinstance(value, enum.Enum):
        return f"{type(value).__module__}.{type(value).__qualname__}.{value.name}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = ",".join(f"{f.name}={canonical(getattr(value, f.name))}"
                          for f in dataclasses.fields(value) if f.compare)
        return f"{cls.__module__}.{cls.__qualname__}({fields})"
    if isinstance(value, tuple | list):
        inner = ",".join(canonical(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, set | frozenset):
        return "{" + ",".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(sorted(f"{canonical(k)}:{canonical(v)}" for k, v in value.items())) + "}"
    raise TypeError(f"run_key cannot make a stable key from a {type(value).__name__} ({value!r}): use a frozen "
                    "dataclass, a tuple, a string or a number")


def run_key(key):
    """The store's text key for an experiment key: a digest of its canonical text and the engine version."""
    return hashlib.sha256(f"{engine_version()}\n{canonical(key)}".encode()).hexdigest()[:32]


def process_owner():
    """A lease owner name unique to this process on this machine and across machines (host, pid, random)."""
    global _owner
    if _owner is None:
        _owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _owner


_owner = None


# --- entries ---------------------------------------------------------------------------------------------------


def encode(value):
    """The bytes of an entry: header, then the compressed pickle of ``value``."""
    payload = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ZLIB_LEVEL)
    header = HEADER.pack(MAGIC, engine_version().encode(), hashlib.sha256(payload).digest(), len(payload))
    return header + payload


def decode(blob):
    """The value in an entry's bytes, or BadEntry saying what is wrong with them."""
    if len(blob) < HEADER.size:
        raise BadEntry(f"{len(blob)} bytes, shorter than the header")
    magic, version, digest, length = HEADER.unpack_from(blob)
    payload = memoryview(blob)[HEADER.size:]
    if magic != MAGIC:
        raise BadEntry("not a run-store entry (magic)")
    if version != engine_version().encode():
        raise BadEntry(f"engine version {version!r}, not {engine_version()}")
    if len(payload) != length:
        raise BadEntry(f"payload of {len(payload)} bytes, the header says {length} (truncated or half-written)")
    if hashlib.sha256(payload).digest() != digest:
        raise BadEntry("checksum mismatch (corrupt)")
    try:
        return pickle.loads(zlib.decompress(payload))
    except Exception as exc:  # intact bytes that no longer unpickle: e.g. an app class changed since
        raise BadEntry(f"cannot unpickle: {exc!r}") from exc


# --- on disk ---------------------------------------------------------------------------------------------------


def default_root():
    """``BNLAB_STORE_DIR``, else bnlab/runs under the user's cache folder."""
    if os.environ.get("BNLAB_STORE_DIR", "").strip():
        return Path(os.environ["BNLAB_STORE_DIR"].strip()).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    elif sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path.home() / ".cache"
    return base / "bnlab" / "runs"


class DiskStore:
    """A folder of entry files, bounded by ``max_bytes`` with least-recently-used eviction.

    Layout under ``root``: ``runs/<key>.run`` finished runs (the only files counted against ``max_bytes``),
    ``progress/<key>.run`` partial runs, ``leases/<key>.json`` who trains what until when, ``leases/.lock``.
    Recency is a file's modification time, set on put and on every get, so it is shared by every process using
    the folder. Writes go to a temp file in the same folder, then ``os.replace``: a reader sees the old file or
    the new one, never a torn one. No fsync: a file cut short by a power loss fails its checksum and is retrained.
    """

    SUFFIX = ".run"

    def __init__(self, root=None, max_bytes=None, progress_ttl=PROGRESS_TTL):
        self.root = Path(root).expanduser() if root else default_root()
        if max_bytes is None:
            max_bytes = int(float(os.environ.get("BNLAB_STORE_MAX_MB") or DEFAULT_MAX_MB) * 2**20)
        self.max_bytes = max_bytes
        self.progress_ttl = progress_ttl
        self.runs, self.progress, self.leases = self.root / "runs", self.root / "progress", self.root / "leases"
        try:
            for folder in (self.root, self.runs, self.progress, self.leases):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the run store folder {self.root}: {exc}. Set BNLAB_STORE_DIR (or "
                             "BNLAB_STORE) to a folder this user can write.") from exc
        for folder in (self.root, self.runs, self.progress, self.leases):
            if folder.stat().st_mode & 0o002:
                raise StoreError(f"the run store folder {folder} is writable by every user: anyone could make this "
                                 "server run code through it (entries are pickles). Use a private folder.")
        self._lock = threading.Lock()  # the recency clock, and leases between threads of this process
        self._last_touch = 0

    def __repr__(self):
        return f"DiskStore({str(self.root)!r}, max_bytes={self.max_bytes})"

    def _file(self, folder, key, suffix=SUFFIX):
        return folder / (run_key(key) + suffix)

    # finished runs

    def get(self, key):
        """The stored value, or None when absent or bad (a bad entry is removed, so the next put rewrites it)."""
        path = self._file(self.runs, key)
        value = self._read(path)
        if value is not None:
            self._touch(path)
        return value

    def put(self, key, value):
        """Store ``value`` (atomically), drop the key's progress, then evict the least recently used entries until
        the runs fit in ``max_bytes``. Returns False when it could not store (logged)."""
        blob = encode(value)
        if len(blob) > self.max_bytes:
            log.warning("run store: an entry of %d bytes exceeds the store's %d bytes; not stored",
                        len(blob), self.max_bytes)
            return False
        path = self._file(self.runs, key)
        try:
            self._write(path, blob)
        except OSError as exc:
            log.warning("run store: cannot write %s: %s", path, exc)
            return False
        self._touch(path)
        self._file(self.progress, key).unlink(missing_ok=True)
        self._evict()
        return True

    def size(self):
        """Total bytes of the finished runs stored."""
        return sum(size for _, _, size, _ in self._scan(self.runs))

    # partial runs

    def put_progress(self, key, value):
        try:
            self._write(self._file(self.progress, key), encode(value))
        except OSError as exc:
            log.warning("run store: cannot write progress: %s", exc)

    def get_progress(self, key):
        """The latest partial value, or None (none, bad, or not updated for ``progress_ttl`` seconds)."""
        return self._read(self._file(self.progress, key), max_age=self.progress_ttl)

    # leases

    def lease(self, key, owner, ttl):
        """Take (or renew) the lease on ``key`` for ``ttl`` seconds. True if ``owner`` holds it now; False if another
        owner holds an unexpired one."""
        path = self._file(self.leases, key, ".json")
        with self._leases_locked():
            holder, expires = self._lease_holder(path)
            now = time.time()
            if holder is not None and holder != str(owner) and expires > now:
                return False
            try:
                self._write(path, json.dumps({"owner": str(owner), "expires": now + ttl}).encode())
            except OSError as exc:  # as with an unreachable Redis: train here rather than wait
                log.warning("run store: cannot write a lease: %s", exc)
            return True

    def release(self, key, owner):
        """Give up the lease if ``owner`` holds it (another owner's lease is left alone)."""
        path = self._file(self.leases, key, ".json")
        with self._leases_locked():
            if self._lease_holder(path)[0] == str(owner):
                path.unlink(missing_ok=True)

    def close(self):
        pass

    # internals

    @contextmanager
    def _leases_locked(self):
        """One lease operation at a time, across the threads and processes sharing the folder."""
        with self._lock:
            if fcntl is None:
                yield
                return
            with open(self.leases / ".lock", "a+b") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
                yield

    @staticmethod
    def _lease_holder(path):
        try:
            lease = json.loads(path.read_bytes())
            return str(lease["owner"]), float(lease["expires"])
        except (OSError, ValueError, KeyError, TypeError):  # none, or unreadable: nobody holds it
            return None, 0.0

    def _write(self, path, blob):
        temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(temp, "xb") as f:
                f.write(blob)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def _read(self, path, max_age=None):
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                blob = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("run store: cannot read %s: %s", path, exc)
            return None
        if max_age is not None and time.time() - st.st_mtime > max_age:
            return None
        try:
            return decode(blob)
        except BadEntry as exc:
            log.warning("run store: dropping bad entry %s: %s", path.name, exc)
            try:  # only if it is still the file read, not a good one another process put there since
                if os.stat(path).st_ino == st.st_ino:
                    path.unlink()
            except OSError:
                pass
            return None

    def _touch(self, path):
        """Mark as most recently used. The clock is made strictly increasing: file times are coarser."""
        with self._lock:
            now = self._last_touch = max(time.time_ns(), self._last_touch + 1)
        try:
            os.utime(path, ns=(now, now))
        except OSError:  # evicted meanwhile
            pass

    def _scan(self, folder):
        """(mtime_ns, name, size, path) of each entry in ``folder``; removes temp files left by dead writers."""
        found = []
        with os.scandir(folder) as it:
            for entry in it:
                try:
                    st = entry.stat()
                except OSError:  # removed meanwhile
                    continue
                if entry.name.endswith(".tmp"):
                    if time.time() - st.st_mtime > STALE_TEMP:
                        Path(entry.path).unlink(missing_ok=True)
                elif entry.name.endswith(self.SUFFIX):
                    found.append((st.st_mtime_ns, entry.name, st.st_size, Path(entry.path)))
        return found

    def _evict(self):
        try:
            entries = sorted(self._scan(self.runs))
            total = sum(size for _, _, size, _ in entries)
            for _, _, size, path in entries:  # oldest first
                if total <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)
                total -= size
            for mtime_ns, _, _, path in self._scan(self.progress):  # trainers that died
                if time.time() - mtime_ns / 1e9 > self.progress_ttl:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("run store: eviction failed: %s", exc)


# --- in Redis --------------------------------------------------------------------------------------------------

# Atomic on the server: take the lease if free, or renew it if this owner holds it.
LEASE_SCRIPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redacted(url):
    """The URL without its password (``user:password@`` or ``?password=``), for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        rest = f"{creds.partition(':')[0]}:***@{host}" if ":" in creds else f"***@{host}"
    return scheme + sep + re.sub(r"(password=)[^&]*", r"\1***", rest)


class RedisStore:
    """The same store in one Redis shared by several replicas. Keys ``bnlab:run:<key>``, ``bnlab:progress:<key>``
    (expiring after ``progress_ttl``), ``bnlab:lease:<key>`` (SET NX PX). Size and eviction are Redis's own:
    run it with ``maxmemory`` and ``maxmemory-policy allkeys-lru`` (a GET counts as a use); a warning is logged
    when it has no bound. If Redis goes away while the app runs, gets miss, puts are dropped and leases are
    granted (each replica then trains for itself), all logged: the store is a cache."""

    def __init__(self, url, progress_ttl=PROGRESS_TTL, timeout=5.0, prefix="bnlab:"):
        try:
            import redis
        except ImportError as exc:
            raise StoreError(f"BNLAB_STORE is a Redis URL ({redacted(url)}) but the redis client is not installed: "
                             "pip install -r requirements.txt") from exc
        self.url, self.progress_ttl, self.prefix = url, progress_ttl, prefix
        self._errors = redis.RedisError
        try:
            self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            self.client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"cannot reach the Redis run store at {redacted(url)} (BNLAB_STORE): {exc}. Start "
                             "Redis there, or unset BNLAB_STORE to use the disk store.") from exc
        self._lease = self.client.register_script(LEASE_SCRIPT)
        self._release = self.client.register_script(RELEASE_SCRIPT)
        self._warn_if_unbounded()

    def __repr__(self):
        return f"RedisStore({redacted(self.url)!r})"

    def _key(self, kind, key):
        return f"{self.prefix}{kind}:{run_key(key)}"

    def get(self, key):
        name = self._key("run", key)
        blob = self._call("get", self.client.get, name)
        if blob is None:
            return None
        try:
            return decode(blob)
        except BadEntry as exc:
            log.warning("run store: dropping bad entry %s: %s", name, exc)
            self._call("drop", self.client.delete, name)
            return None

    def put(self, key, value):
        blob = encode(value)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._key("run", key), blob)
        pipe.delete(self._key("progress", key))
        return self._call("put", pipe.execute) is not None

    def put_progress(self, key, value):
        self._call("put progress", self.client.set, self._key("progress", key), encode(value),
                   px=int(self.progress_ttl * 1000))

    def get_progress(self, key):
        blob = self._call("get progress", self.client.get, self._key("progress", key))
        try:
            return None if blob is None else decode(blob)
        except BadEntry as exc:
            log.warning("run store: ignoring bad progress entry: %s", exc)
            return None

    def lease(self, key, owner, ttl):
        granted = self._call("lease", self._lease, keys=[self._key("lease", key)],
                             args=[str(owner), max(1, int(ttl * 1000))])
        return True if granted is None else bool(granted)  # Redis unreachable: train here rather than wait

    def release(self, key, owner):
        self._call("release", self._release, keys=[self._key("lease", key)], args=[str(owner)])

    def close(self):
        self.client.close()

    def _call(self, what, fn, *args, **kwargs):
        """``fn(...)``, or None with a warning when Redis fails."""
        try:
            return fn(*args, **kwargs)
        except self._errors as exc:
            log.warning("run store: Redis %s failed at %s: %s", what, redacted(self.url), exc)
            return None

    def _warn_if_unbounded(self):
        try:
            config = self.client.config_get("maxmemory*")
        except self._errors:  # CONFIG is disabled on some hosted Redis: trust its settings
            return
        if str(config.get("maxmemory", "0")) == "0":
            log.warning("run store: Redis at %s has no maxmemory, so the store grows without bound: set maxmemory "
                        "and maxmemory-policy allkeys-lru", redacted(self.url))
        elif config.get("maxmemory-policy") == "noeviction":
            log.warning("run store: Redis at %s evicts nothing (maxmemory-policy noeviction): puts fail once it "
                        "is full; set maxmemory-policy allkeys-lru", redacted(self.url))


def open_store(spec=None):
    """The store ``spec`` names (default: the environment variable ``BNLAB_STORE``): a Redis URL, a folder, or
    empty for the default folder. An unreachable Redis raises StoreError at startup rather than falling back to
    a disk store of each replica's own: replicas would then each train every run, and nobody would notice."""
    spec = (os.environ.get("BNLAB_STORE", "") if spec is None else str(spec)).strip()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(spec)
    if "://" in spec:
        raise StoreError(f"BNLAB_STORE={redacted(spec)!r} is neither a redis:// URL nor a folder")
    return DiskStore(spec or None)
