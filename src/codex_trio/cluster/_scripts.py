"""The Lua scripts: each is one atomic step of the protocol, and each is idempotent (sent again
after a lost reply it does no harm), which is what lets :meth:`Connection.call` retry them.

A lease's value is ``"<token>:<worker>:<nonce>"``: the fencing token (``INCR`` of the thread's
counter), who holds it, and a nonce of that attempt. Every write a worker makes for a turn it
runs (events, the commit, the dead letter) first checks that the lease still holds exactly that
value: a worker that lost its lease (paused past it, partitioned) can no longer write.
"""

from __future__ import annotations

__all__ = [
    "COMMIT",
    "DEAD_LETTER",
    "HEARTBEAT",
    "PUBLISH",
    "RELEASE",
    "REQUEUE",
    "SUBMIT",
    "TAKE",
    "TOUCH",
]

# Owner check of a pending entry: XPENDING's extended form, one entry.
_OWNS = """
local function owns(stream, group, consumer, id)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  return p[1] ~= nil and p[1][2] == consumer
end
"""

SUBMIT = """
-- KEYS: thread, queue, turn, turns; ARGV: turn_id, thread_key, options ('' = none given),
-- payload, submitted_ms. Returns {0, ''} queued, {1, ''} already submitted,
-- {-1, recorded options} when the options differ from the thread's.
if redis.call('EXISTS', KEYS[3]) == 1 then return {1, ''} end
local existing = redis.call('HGET', KEYS[1], 'options')
if existing then
  if ARGV[3] ~= '' and ARGV[3] ~= existing then return {-1, existing} end
else
  local options = ARGV[3]
  if options == '' then options = '{}' end
  redis.call('HSET', KEYS[1], 'options', options, 'key', ARGV[2], 'version', 0)
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], 'thread_key', ARGV[2], 'payload', ARGV[4], 'status', 'queued',
  'deliveries', 0, 'seq', 0, 'submitted_ms', ARGV[5])
redis.call('XADD', KEYS[4], '*', 'turn', ARGV[1], 'thread', ARGV[2])
return {0, ''}
"""

TOUCH = (
    _OWNS
    + """
-- KEYS: turns; ARGV: group, consumer, entry id. Resets the entry's idle time if we own it.
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""
)


TAKE = """
-- KEYS: turn, queue, lease, fence, thread, events, turns
-- ARGV: turn id, worker, nonce, lease_ms, max_deliveries, group, entry id, maxlen
-- The start of a delivery, in one round trip (what HGET status, LINDEX, ACQUIRE, BEGIN,
-- HGETALL, HMGET and the attempt's PUBLISH did one by one):
--   {'ended'}    the turn has ended (or expired): its entry is acknowledged and deleted;
--   {'wait'}     it is not the head of its thread's FIFO yet;
--   {'held'}     it is, but another worker holds the thread's lease;
--   {'dead', token, deliveries}   past max_deliveries: the lease is ours, dead-letter it;
--   {'run', token, deliveries, attempts, seq, payload, thread fields...}: the lease is ours,
--   the delivery and attempt counted, the turn marked running, its 'attempt' event appended
--   (seq: the turn's last event number, the attempt's included), the thread's hash returned.
-- Idempotent: the lease value (token:worker:nonce) names the claim; sent again after a lost
-- reply it re-arms the same lease and counts, and appends, nothing more.
local status = redis.call('HGET', KEYS[1], 'status')
if (not status) or status == 'done' or status == 'error' or status == 'dead' then
  redis.call('XACK', KEYS[7], ARGV[6], ARGV[7])
  redis.call('XDEL', KEYS[7], ARGV[7])
  return {'ended'}
end
if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[1] then return {'wait'} end
local v = redis.call('GET', KEYS[3])
local token
if v then
  local t, w, n = string.match(v, '^(%d+):(.*):([^:]*)$')
  if n ~= ARGV[3] or w ~= ARGV[2] then return {'held'} end
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  token = tonumber(t)
else
  token = redis.call('INCR', KEYS[4])
  v = token .. ':' .. ARGV[2] .. ':' .. ARGV[3]
  redis.call('SET', KEYS[3], v, 'PX', ARGV[4])
end
local n, a
local fresh = redis.call('HGET', KEYS[1], 'claim') ~= v
if fresh then
  n = redis.call('HINCRBY', KEYS[1], 'deliveries', 1)
  a = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  redis.call('HSET', KEYS[1], 'claim', v)
else
  n = tonumber(redis.call('HGET', KEYS[1], 'deliveries') or '0')
  a = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
end
if n > tonumber(ARGV[5]) then return {'dead', token, n} end
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[2])
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if fresh then
  seq = seq + 1
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'seq', seq, 'kind', 'attempt',
    'data', a)
  redis.call('HSET', KEYS[1], 'seq', seq)
end
local out = {'run', token, n, a, seq, redis.call('HGET', KEYS[1], 'payload') or '{}'}
for _, x in ipairs(redis.call('HGETALL', KEYS[5])) do out[#out + 1] = x end
return out
"""

HEARTBEAT = (
    _OWNS
    + """
-- KEYS: lease, turns; ARGV: lease value, lease_ms, group, consumer, entry id.
-- Renews the lease and resets the entry's idle time; 0 when the lease is lost.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if owns(KEYS[2], ARGV[3], ARGV[4], ARGV[5]) then
  redis.call('XCLAIM', KEYS[2], ARGV[3], ARGV[4], 0, ARGV[5], 'JUSTID')
end
return 1
"""
)

RELEASE = (
    _OWNS
    + """
-- KEYS: lease, turns, turn; ARGV: lease value ('' = none), group, consumer, entry id, idle_ms,
-- error ('' = none), uncount ('1': the worker is shutting down). Gives the turn back: lease
-- released, the entry made claimable at once (its idle time set past claim_idle_ms), the error
-- recorded as the turn's last. A turn given back by a worker shutting down was not at fault:
-- its claim's delivery is taken back (once: the claim is forgotten), so it does not count
-- toward max_deliveries (its attempt still does: readers see the next run as a restart).
if ARGV[6] ~= '' then redis.call('HSET', KEYS[3], 'last_error', ARGV[6]) end
if ARGV[7] == '1' and ARGV[1] ~= '' and redis.call('HGET', KEYS[3], 'claim') == ARGV[1]
    and redis.call('HGET', KEYS[3], 'status') == 'running' then
  redis.call('HINCRBY', KEYS[3], 'deliveries', -1)
  redis.call('HDEL', KEYS[3], 'claim')
end
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if owns(KEYS[2], ARGV[2], ARGV[3], ARGV[4]) then
  redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'IDLE', ARGV[5], 'JUSTID')
end
return 1
"""
)

REQUEUE = (
    _OWNS
    + """
-- KEYS: turns; ARGV: group, consumer, entry id, turn id, thread key.
-- A turn that waited too long for its thread goes to the back of the queue.
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('XADD', KEYS[1], '*', 'turn', ARGV[4], 'thread', ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
"""
)


PUBLISH = """
-- KEYS: events, turn, lease; ARGV: lease value, maxlen, upto, then (seq, kind, data) per event.
-- A batch of a turn's events, in seq order. 0 when the lease is lost (nothing written); an
-- event whose seq was already published is skipped (a batch sent again after a lost reply).
-- The turn's seq becomes the batch's last, or upto when that is higher: events the worker
-- dropped from its full buffer (the reader sees the hole as a gap) are passed over.
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
local last = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
local top = last
for i = 4, #ARGV, 3 do
  local seq = tonumber(ARGV[i])
  if seq > top then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'seq', ARGV[i], 'kind', ARGV[i + 1],
      'data', ARGV[i + 2])
    top = seq
  end
end
if tonumber(ARGV[3]) > top then top = tonumber(ARGV[3]) end
if top > last then redis.call('HSET', KEYS[2], 'seq', top) end
return 1
"""

_END = """
-- The end event; 'outcome' (the result or error, when given) rides along for a caller waiting
-- on the stream, which then needs no read of the turn's hash.
local function finish(turn, events, status, ttl, maxlen, outcome)
  local seq = tonumber(redis.call('HGET', turn, 'seq') or '0') + 1
  if outcome then
    redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'seq', seq, 'kind', 'end', 'data',
      status, 'outcome', outcome)
  else
    redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'seq', seq, 'kind', 'end', 'data',
      status)
  end
  redis.call('HSET', turn, 'seq', seq)
  redis.call('PEXPIRE', turn, ttl)
  redis.call('PEXPIRE', events, ttl)
end
"""

COMMIT = (
    _END
    + """
-- KEYS: thread, done, queue, turn, events, lease, turns
-- ARGV: lease value, turn id, token, worker, thread id ('' = unknown), rollout name,
--       rollout ('' = none), status ('done' | 'error'), outcome, ttl_ms, group, entry id, maxlen,
--       upto, inline ('1': the outcome rides on the end event too), then (seq, kind, data)
--       per event: the run's last events, which the worker's publisher had not sent, appended
--       as PUBLISH does (a seq already published skipped, the turn's seq moved to upto past
--       events dropped) before the end event.
-- 1 committed, 2 committed before (acknowledged again), 0 fenced off (the lease is not ours).
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then
  redis.call('XACK', KEYS[7], ARGV[11], ARGV[12])
  redis.call('XDEL', KEYS[7], ARGV[12])
  return 2
end
if redis.call('GET', KEYS[6]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) < tonumber(redis.call('HGET', KEYS[1], 'fence') or '0') then return 0 end
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'rollout_name', ARGV[6], 'rollout', ARGV[7])
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'thread_id', ARGV[5]) end
redis.call('HSET', KEYS[1], 'fence', ARGV[3], 'worker', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('LREM', KEYS[3], 1, ARGV[2])
local field = 'result'
if ARGV[8] ~= 'done' then field = 'error' end
redis.call('HSET', KEYS[4], 'status', ARGV[8], field, ARGV[9], 'worker', ARGV[4])
local last = tonumber(redis.call('HGET', KEYS[4], 'seq') or '0')
local top = last
for i = 16, #ARGV, 3 do
  local seq = tonumber(ARGV[i])
  if seq > top then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[13], '*', 'seq', ARGV[i], 'kind',
      ARGV[i + 1], 'data', ARGV[i + 2])
    top = seq
  end
end
if tonumber(ARGV[14]) > top then top = tonumber(ARGV[14]) end
if top > last then redis.call('HSET', KEYS[4], 'seq', top) end
local inline = nil
if ARGV[15] == '1' then inline = ARGV[9] end
finish(KEYS[4], KEYS[5], ARGV[8], ARGV[10], ARGV[13], inline)
redis.call('DEL', KEYS[6])
redis.call('XACK', KEYS[7], ARGV[11], ARGV[12])
redis.call('XDEL', KEYS[7], ARGV[12])
return 1
"""
)

DEAD_LETTER = (
    _END
    + """
-- KEYS: queue, turn, events, lease, turns, dead
-- ARGV: lease value, turn id, thread key, deliveries, ttl_ms, group, entry id, maxlen
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return 0 end
local err = redis.call('HGET', KEYS[2], 'last_error') or ''
redis.call('LREM', KEYS[1], 1, ARGV[2])
redis.call('HSET', KEYS[2], 'status', 'dead', 'error', err, 'deliveries', ARGV[4])
redis.call('XADD', KEYS[6], '*', 'turn', ARGV[2], 'thread', ARGV[3], 'error', err,
  'deliveries', ARGV[4])
finish(KEYS[2], KEYS[3], 'dead', ARGV[5], ARGV[8])
redis.call('DEL', KEYS[4])
redis.call('XACK', KEYS[5], ARGV[6], ARGV[7])
redis.call('XDEL', KEYS[5], ARGV[7])
return 1
"""
)
