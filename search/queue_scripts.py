"""The queue's state changes as Lua scripts, each one atomic inside Redis.

Atomicity is what makes the guarantees hold under crashes: a result is written, counted,
announced and acknowledged in one step, so a worker killed between two of those cannot leave a
job that is acknowledged without a result or has two results. All scripts take the same keys
(``KEYS`` below) so the Python side builds them in one place.

KEYS: 1 job hash, 2 result, 3 job events stream, 4 jobs stream, 5 done stream,
6 dead-letter stream, 7 status counters hash, 8 heartbeat key.
"""

from __future__ import annotations

_PRELUDE = """
local terminal = {proved=true, failed=true, timeout=true, error=true, cancelled=true}
local function event(kind, data)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'type', kind, 'data', data)
end
local function drop_entry(group, entry)
  if entry and entry ~= '' then
    redis.call('XACK', KEYS[4], group, entry)
    redis.call('XDEL', KEYS[4], entry)
  end
end
-- The one place a job gets its result: first writer wins, later attempts change nothing.
local function finish(job_id, attempt, status, result, message, now, versions, dead, prefix)
  local current = redis.call('HGET', KEYS[1], 'status')
  if not current or terminal[current] then return 0 end
  if result ~= '' then redis.call('SET', KEYS[2], result) end
  redis.call('HSET', KEYS[1], 'status', status, 'message', message, 'finished_at', now,
             'result_attempt', attempt, 'versions', versions)
  redis.call('DEL', KEYS[8])
  redis.call('HINCRBY', KEYS[7], status, 1)
  event('result', cjson.encode({status=status, message=message, attempt=tonumber(attempt)}))
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', 1000000, '*', 'job', job_id, 'status', status,
             'attempt', attempt)
  if dead ~= '' then
    redis.call('XADD', KEYS[6], '*', 'job', job_id, 'reason', dead, 'attempts', attempt)
  end
  local eval_id = redis.call('HGET', KEYS[1], 'eval')
  if eval_id then
    local eval_key = prefix .. ':eval:' .. eval_id
    redis.call('HINCRBY', eval_key, 'done', 1)
    redis.call('HINCRBY', eval_key, 'status:' .. status, 1)
  end
  return 1
end
"""

#: ARGV: job id, spec JSON, prover, now, eval id ('' for none). Records the job and appends
#: its stream entry in one step, so no worker ever reads an id without a record, and a cancel
#: always finds the entry id. Returns the entry id.
SUBMIT = (
    _PRELUDE
    + """
redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'prover', ARGV[3], 'status', 'queued',
           'created_at', ARGV[4], 'attempts', 0)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'eval', ARGV[5]) end
local entry = redis.call('XADD', KEYS[4], '*', 'job', ARGV[1])
redis.call('HSET', KEYS[1], 'entry', entry)
event('queued', '{}')
return entry
"""
)

#: ARGV: group, entry, consumer, now. Returns ``{attempt, spec JSON}``, or ``{-1}`` when the
#: job already has its result (a redelivery after the result was written, a cancelled job).
START = (
    _PRELUDE
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if not current or terminal[current] then
  drop_entry(ARGV[1], ARGV[2])
  return {-1}
end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[4], 'worker', ARGV[3])
event('started', cjson.encode({attempt=attempt, worker=ARGV[3]}))
return {attempt, redis.call('HGET', KEYS[1], 'spec')}
"""
)

#: ARGV: group, entry, job id, attempt, status, result JSON, message, now, versions JSON,
#: dead-letter reason ('' for none), key prefix. Acknowledges the entry whatever happens;
#: returns 1 when this call wrote the result, 0 when the job already had one.
FINISH = (
    _PRELUDE
    + """
drop_entry(ARGV[1], ARGV[2])
return finish(ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
"""
)

#: ARGV: group, consumer, entry, lease ms. Renews the lease of a running job: resets the
#: entry's idle time (so XAUTOCLAIM leaves it alone) and the heartbeat key. Returns -1 when
#: the entry is no longer ours (we stalled and another worker took it), 1 when a cancel was
#: requested, 0 otherwise.
HEARTBEAT = (
    _PRELUDE
    + """
local pending = redis.call('XPENDING', KEYS[4], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] then return -1 end
redis.call('XCLAIM', KEYS[4], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
redis.call('SET', KEYS[8], ARGV[2], 'PX', ARGV[4])
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 1 end
return 0
"""
)

#: ARGV: group, entry, job id, now, key prefix. A queued job is cancelled on the spot; a
#: running one is flagged for its worker. Returns the job's status after the call, or '' for
#: an unknown job.
CANCEL = (
    _PRELUDE
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return '' end
if terminal[current] then return current end
if current == 'queued' then
  drop_entry(ARGV[1], ARGV[2])
  finish(ARGV[3], '0', 'cancelled', '', 'cancelled before it started', ARGV[4], '{}', '',
         ARGV[5])
  return 'cancelled'
end
redis.call('HSET', KEYS[1], 'cancel', '1')
event('cancel_requested', '{}')
return current
"""
)

#: ARGV: group, old entry, job id. Gives a running job back to the queue (graceful worker
#: shutdown): the old entry goes, a new one is appended, so another worker starts it at once
#: instead of waiting for the lease to run out. Returns the new entry id, or '' if the job
#: already has its result.
RELEASE = (
    _PRELUDE
    + """
drop_entry(ARGV[1], ARGV[2])
local current = redis.call('HGET', KEYS[1], 'status')
if not current or terminal[current] then return '' end
local entry = redis.call('XADD', KEYS[4], '*', 'job', ARGV[3])
redis.call('HSET', KEYS[1], 'status', 'queued', 'entry', entry)
redis.call('DEL', KEYS[8])
event('released', '{}')
return entry
"""
)
