"""Counters in Redis, through the client of Django's RedisCache backend (REDIS_URL).

Each counter is one small hash whose key expires with it; `hit` and `apply`
are each one Lua script, so every step is atomic on the server and costs one
round trip. Keys carry the cache's KEY_PREFIX and version, then only hashes
(SECURITY-CASES 13). Locked counters are also listed in one sorted set, so
the dashboard never scans the keyspace. Any Redis error becomes
CountersUnavailable, on which the caller counts in the database instead.
"""

import re
import weakref
from collections.abc import Sequence

import redis
from django.core.cache import caches

from guard.counters.base import Counters, CountersUnavailable, StoredCounter
from guard.policy import CounterKey, CounterState, Op, OpKind

# Fields: b bucket, c/p current/previous failures, sc/sp current/previous distinct
# pairs, l locked until, n lockouts, x expires at (epoch s, the app's clock), t label.
# Expiry is relative (EXPIRE x - now), so it holds whatever the clocks of Redis and the app say.
_HIT = """
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local a = 2 + (i - 1) * 3
  local bucket = tonumber(ARGV[a])
  local expires = tonumber(ARGV[a + 1])
  local s = redis.call('HMGET', key, 'b', 'c', 'p', 'sc', 'sp', 'l', 'n', 'x')
  local b = tonumber(s[1])
  local c, p = tonumber(s[2]) or 0, tonumber(s[3]) or 0
  local sc, sp = tonumber(s[4]) or 0, tonumber(s[5]) or 0
  local l, n, x = tonumber(s[6]), tonumber(s[7]) or 0, tonumber(s[8]) or 0
  if b ~= nil and x <= now then
    -- Past its expiry by the app's clock, though Redis has not dropped it yet: forgotten.
    redis.call('DEL', key)
    b, l, n, x = nil, nil, 0, 0
    s = {false, false, false, false, false, false, false, false}
  end
  if b == nil then
    b, c, p, sc, sp = bucket, 0, 0, 0, 0
    redis.call('HSET', key, 't', ARGV[a + 2])
  elseif bucket > b then
    if bucket == b + 1 then p, sp = c, sc else p, sp = 0, 0 end
    b, c, sc = bucket, 0, 0
  end
  if l == nil or l <= now then c = c + 1 end
  if expires > x then x = expires end
  -- Zero counts are left out of the hash (HMGET reads a missing field as 0):
  -- a million one-off counters take a third less memory.
  local fields, values, gone = {'b', 'c', 'p', 'sc', 'sp'}, {b, c, p, sc, sp}, {}
  local set = {'x', x}
  for f = 1, 5 do
    if values[f] ~= 0 then
      set[#set + 1] = fields[f]; set[#set + 1] = values[f]
    elseif s[f] then
      gone[#gone + 1] = fields[f]
    end
  end
  redis.call('HSET', key, unpack(set))
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  redis.call('EXPIRE', key, math.max(1, math.ceil(x - now)))
  out[i] = {tostring(b), tostring(c), tostring(p), tostring(sc), tostring(sp), s[6] or '', tostring(n)}
end
return out
"""

# A counter that expired since its hit is skipped: no op re-creates a key
# without its expiry (django-axes #1144, SECURITY-CASES 39).
_APPLY = """
local now = tonumber(ARGV[1])
local locks = ARGV[2]
for i, key in ipairs(KEYS) do
  local a = 3 + (i - 1) * 5
  local op = ARGV[a]
  if redis.call('EXISTS', key) == 1 then
    if op == 'lock' then
      local l = tonumber(redis.call('HGET', key, 'l'))
      if l == nil or l <= now then
        local x = math.max(tonumber(redis.call('HGET', key, 'x')) or 0, tonumber(ARGV[a + 3]))
        redis.call('HSET', key, 'l', ARGV[a + 1], 'n', ARGV[a + 2], 'c', 0, 'p', 0, 'x', x)
        redis.call('EXPIRE', key, math.max(1, math.ceil(x - now)))
        redis.call('ZADD', locks, tonumber(ARGV[a + 1]), ARGV[a + 4])
      end
    elseif op == 'undo' or op == 'undo_unseen' then
      if (tonumber(redis.call('HGET', key, 'c')) or 0) > 0 then redis.call('HINCRBY', key, 'c', -1) end
      if op == 'undo_unseen' and (tonumber(redis.call('HGET', key, 'sc')) or 0) > 0 then
        redis.call('HINCRBY', key, 'sc', -1)
      end
    elseif op == 'seen' then
      redis.call('HINCRBY', key, 'sc', 1)
    elseif op == 'reset' then
      redis.call('HSET', key, 'c', 0, 'p', 0, 'n', 0)
      redis.call('HDEL', key, 'l')
      redis.call('ZREM', locks, ARGV[a + 4])
    end
  end
end
return 1
"""

_FIELDS = ("b", "c", "p", "sc", "sp", "l", "n", "x", "t")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _state(values: Sequence) -> CounterState:
    def number(value, cast=int, default=0):
        if value in (None, b"", ""):
            return default
        return cast(float(value))

    return CounterState(
        bucket=number(values[0]),
        current=number(values[1]),
        previous=number(values[2]),
        seen_current=number(values[3]),
        seen_previous=number(values[4]),
        locked_until=number(values[5], float, None),
        lockouts=number(values[6]),
    )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisCounters(Counters):
    name = "redis"

    def __init__(self, cache_alias: str) -> None:
        self.cache_alias = cache_alias
        self._scripts: dict[str, object] = {}
        # One client per cache object (Django keeps one per thread): redis-py
        # builds a client in ~0.1 ms, more than the round trip it then makes.
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # The client of Django's RedisCache: its connection pool, timeouts and key prefix.
    def _cache(self):
        return caches[self.cache_alias]

    def _client(self) -> redis.Redis:
        cache = self._cache()
        client = self._clients.get(cache)
        if client is None:
            client = self._clients[cache] = cache._cache.get_client(write=True)
        return client

    def _prefix(self) -> str:
        return self._cache().make_key("guard:")

    def _key(self, key_id: str) -> str:
        return self._prefix() + key_id

    def _locks_key(self) -> str:
        return self._prefix() + "locks"

    def _run(self, script: str, keys: list[str], args: list):
        try:
            client = self._client()
            if script not in self._scripts:
                # Sent once per server as EVALSHA; loaded again by redis-py if the server forgot it.
                self._scripts[script] = client.register_script(script)
            return self._scripts[script](keys=keys, args=args, client=client)
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(f"Redis: {type(error).__name__}") from error

    def hit(self, keys: Sequence[CounterKey], *, now: float) -> list[CounterState]:
        args: list = [repr(now)]
        for key in keys:
            args.extend([key.bucket(now), repr(key.expires_at(now)), key.label])
        result = self._run(_HIT, [self._key(key.id) for key in keys], args)
        return [_state(values) for values in result]

    def apply(
        self, ops: Sequence[Op], *, now: float, backoff_memory: int, rows_locked: bool = False
    ) -> None:
        if not ops:
            return
        args: list = [repr(now), self._locks_key()]
        for op in ops:
            name = "undo_unseen" if op.kind is OpKind.UNDO and op.unseen else str(op.kind)
            args.extend([
                name,
                repr(op.until) if op.until is not None else "",
                op.lockouts,
                repr(op.expires_at(now, backoff_memory=backoff_memory)),
                op.key.id,
            ])
        self._run(_APPLY, [self._key(op.key.id) for op in ops], args)

    def _read(self, key_ids: Sequence[str]) -> list[list]:
        try:
            pipe = self._client().pipeline(transaction=False)
            for key_id in key_ids:
                pipe.hmget(self._key(key_id), _FIELDS)
            return pipe.execute()
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(f"Redis: {type(error).__name__}") from error

    def peek(self, keys: Sequence[CounterKey], *, now: float) -> list[CounterState | None]:
        values = self._read([key.id for key in keys])
        return [None if row[0] is None else _state(row) for row in values]

    def stored(
        self,
        *,
        now: float,
        locked_only: bool,
        user_ref: str | None = None,
        source_ref: str | None = None,
        limit: int = 100,
    ) -> list[StoredCounter]:
        try:
            client = self._client()
            client.zremrangebyscore(self._locks_key(), "-inf", now)
            key_ids = [_text(k) for k in client.zrevrangebyscore(self._locks_key(), "+inf", now)]
            if not locked_only:
                pattern = _GLOB_SPECIAL.sub(r"\\\1", self._prefix()) + "*:*:*"
                prefix_length = len(self._prefix())
                for raw in client.scan_iter(match=pattern, count=1000):
                    key_id = _text(raw)[prefix_length:]
                    if key_id not in key_ids:
                        key_ids.append(key_id)
                    if len(key_ids) >= 10 * limit:
                        break
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(f"Redis: {type(error).__name__}") from error
        wanted = []
        for key_id in key_ids:
            kind, user, source = key_id.split(":", 2)
            user, source = ("" if user == "-" else user), ("" if source == "-" else source)
            if (user_ref is None or user == user_ref) and (source_ref is None or source == source_ref):
                wanted.append((key_id, kind, user, source))
        rows = self._read([w[0] for w in wanted])
        found = []
        for (_, kind, user, source), values in zip(wanted, rows, strict=True):
            if values[0] is None:
                continue
            state = _state(values)
            if locked_only and not state.locked(now):
                continue
            found.append(
                StoredCounter(
                    kind=kind,
                    user_ref=user,
                    source_ref=source,
                    label=_text(values[8] or b""),
                    state=state,
                    expires_at=float(values[7] or 0),
                )
            )
        found.sort(key=lambda c: (not c.state.locked(now), -c.expires_at))
        return found[:limit]

    def clear(
        self, *, user_ref: str | None = None, source_ref: str | None = None, everything: bool = False
    ) -> int:
        prefix = _GLOB_SPECIAL.sub(r"\\\1", self._prefix())
        if everything:
            pattern = prefix + "*"
        elif user_ref is not None:
            pattern = f"{prefix}*:{user_ref}:*"
        elif source_ref is not None:
            pattern = f"{prefix}*:*:{source_ref}"
        else:
            raise ValueError("say which counters to delete")
        deleted = 0
        try:
            client = self._client()
            batch = []
            prefix_length = len(self._prefix())
            for raw in client.scan_iter(match=pattern, count=1000):
                batch.append(raw)
                if len(batch) >= 500:
                    deleted += self._delete(client, batch, prefix_length)
                    batch = []
            if batch:
                deleted += self._delete(client, batch, prefix_length)
            if everything:
                client.delete(self._locks_key())
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(f"Redis: {type(error).__name__}") from error
        return deleted

    def _delete(self, client: redis.Redis, raw_keys: list, prefix_length: int) -> int:
        ids = [_text(raw)[prefix_length:] for raw in raw_keys]
        counters = [raw for raw, key_id in zip(raw_keys, ids, strict=True) if key_id != "locks"]
        if not counters:
            return 0
        pipe = client.pipeline(transaction=False)
        pipe.delete(*counters)
        pipe.zrem(self._locks_key(), *[i for i in ids if i != "locks"])
        return pipe.execute()[0]

    def prune(self, *, now: float, batch: int) -> int:
        # Keys expire by themselves; only the index of locks needs sweeping.
        try:
            self._client().zremrangebyscore(self._locks_key(), "-inf", now)
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(f"Redis: {type(error).__name__}") from error
        return 0
