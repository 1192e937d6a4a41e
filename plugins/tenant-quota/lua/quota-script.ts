/** `now` in ms: the caller's clock (ARGV[1]), or Redis TIME when 0 so every gateway node shares one clock. */
const NOW_MS = `local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

/**
 * The atomic check-all-then-consume-all script: one EVALSHA per request checks every applicable limit and writes
 * to none of them when any denies. All keys of one call carry the same tenant hash tag, so they live in one slot
 * (Redis Cluster runs the script on the node that owns the tenant).
 *
 * ARGV: now_ms (0 = use Redis TIME: one clock for every gateway node), cost, consume (1 = check and consume,
 * 0 = check only), then 4 values per limit: kind, q, p2, p3.
 *   kind "g" (GCRA, token bucket): q units per p2 ms, bucket capacity p3 (burst). 1 key: TAT in ms.
 *   kind "s" (sliding log): q units per p2 ms. 2 keys: a sorted set (member "<seq>:<cost>", score = ms) and a hash
 *            {n = units in the window, seq}. Exact: the window is (now - p2, now].
 *   kind "c" (calendar quota): q units until the window ends, p2 = ms left in the window (the key's TTL).
 * Reply: { denied_count, now_ms, then per limit: allowed(0/1), remaining, reset_ms, retry_ms, token }
 * (token: the sliding-log member written, for a refund; "" otherwise). remaining and reset are each limit's true
 * state after this call: with this request's units when it was consumed, without them when it was not (a denial by
 * any limit, consume 0, cost 0), so a 429 never reports a limit as if the denied request had been counted.
 * TTLs: GCRA key until its TAT (the bucket is full again then); sliding keys one window after the last write;
 * calendar keys until the window's end.
 */
export const QUOTA_LUA = `
${NOW_MS}
local cost = tonumber(ARGV[2])
local consume = ARGV[3] == '1'
local eps = 1e-6
local n = (#ARGV - 3) / 4
if n == 1 and ARGV[4] == 'g' then
  -- one GCRA limit (the common plan): the same decision as the loop below, with no bookkeeping tables
  local key = KEYS[1]
  local interval = tonumber(ARGV[6]) / tonumber(ARGV[5])
  local capacity = tonumber(ARGV[7]) * interval
  local tat = tonumber(redis.call('GET', key)) or 0
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  if new_tat - now > capacity + eps then
    return { 1, now, 0, math.floor((now + capacity - tat) / interval + eps), math.ceil(tat - now), math.max(0, math.ceil(new_tat - capacity - now)), '' }
  end
  if consume and cost > 0 then
    redis.call('SET', key, string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
    return { 0, now, 1, math.floor((now + capacity - new_tat) / interval + eps), math.ceil(new_tat - now), 0, '' }
  end
  return { 0, now, 1, math.floor((now + capacity - tat) / interval + eps), math.ceil(tat - now), 0, '' }
end
local reply = { 0, now }
-- per limit i, w[3i-2..3i]: what an admission writes (gcra: tat, ttl; sliding: used, seq; calendar: used, ttl)
-- and alt[2i-1..2i]: remaining and reset without this request (reported when nothing is consumed)
local w = {}
local alt = {}
local denied = 0
local ki = 1
for i = 1, n do
  local a = 4 * i
  local kind = ARGV[a]
  local q = tonumber(ARGV[a + 1])
  local p2 = tonumber(ARGV[a + 2])
  local o = 5 * i - 2
  if kind == 'g' then
    local interval = p2 / q
    local capacity = tonumber(ARGV[a + 3]) * interval
    local tat = tonumber(redis.call('GET', KEYS[ki])) or 0
    ki = ki + 1
    if tat < now then tat = now end
    local new_tat = tat + cost * interval
    local before = math.floor((now + capacity - tat) / interval + eps)
    if new_tat - now <= capacity + eps then
      reply[o] = 1; reply[o + 1] = math.floor((now + capacity - new_tat) / interval + eps)
      reply[o + 2] = math.ceil(new_tat - now); reply[o + 3] = 0
      w[3 * i - 2] = new_tat; w[3 * i - 1] = math.max(1, math.ceil(new_tat - now))
      alt[2 * i - 1] = before; alt[2 * i] = math.ceil(tat - now)
    else
      denied = denied + 1
      reply[o] = 0; reply[o + 1] = before; reply[o + 2] = math.ceil(tat - now)
      reply[o + 3] = math.ceil(new_tat - capacity - now)
    end
    reply[o + 4] = ''
  elseif kind == 's' then
    local zkey = KEYS[ki]; local hkey = KEYS[ki + 1]; ki = ki + 2
    local cutoff = now - p2
    local h = redis.call('HMGET', hkey, 'n', 'seq')
    local used = tonumber(h[1]) or 0
    local oldest = redis.call('ZRANGE', zkey, 0, 0, 'WITHSCORES')
    if oldest[2] and tonumber(oldest[2]) <= cutoff then
      -- members left the window: drop them and their units (one read of the oldest member when none did)
      local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', cutoff)
      for j = 1, #old do used = used - tonumber(string.match(old[j], ':(%d+)$')) end
      redis.call('ZREMRANGEBYSCORE', zkey, '-inf', cutoff)
      redis.call('HSET', hkey, 'n', string.format('%d', used))
      oldest = redis.call('ZRANGE', zkey, 0, 0, 'WITHSCORES')
    end
    local reset = p2
    if oldest[2] then reset = math.ceil(tonumber(oldest[2]) + p2 - now) end
    reply[o + 2] = reset
    if used + cost <= q then
      reply[o] = 1; reply[o + 1] = q - used - cost; reply[o + 3] = 0
      w[3 * i - 2] = used; w[3 * i - 1] = tonumber(h[2]) or 0
      alt[2 * i - 1] = q - used; alt[2 * i] = reset
    else
      denied = denied + 1
      reply[o] = 0; reply[o + 1] = math.max(0, q - used)
      -- members each hold >= 1 unit, so the first (needed) members free enough
      local need = used + cost - q
      local retry = p2
      if cost <= q then
        local first = redis.call('ZRANGE', zkey, 0, need - 1, 'WITHSCORES')
        local freed = 0
        for j = 1, #first, 2 do
          freed = freed + tonumber(string.match(first[j], ':(%d+)$'))
          if freed >= need then retry = math.ceil(tonumber(first[j + 1]) + p2 - now); break end
        end
      end
      reply[o + 3] = retry
    end
    reply[o + 4] = ''
  else
    local used = tonumber(redis.call('GET', KEYS[ki])) or 0
    ki = ki + 1
    reply[o + 2] = p2
    if used + cost <= q then
      reply[o] = 1; reply[o + 1] = q - used - cost; reply[o + 3] = 0
      w[3 * i - 2] = used; w[3 * i - 1] = math.max(1, p2)
      alt[2 * i - 1] = q - used; alt[2 * i] = p2
    else
      denied = denied + 1
      reply[o] = 0; reply[o + 1] = math.max(0, q - used); reply[o + 3] = p2
    end
    reply[o + 4] = ''
  end
  if reply[o + 2] < 0 then reply[o + 2] = 0 end
  if reply[o + 3] < 0 then reply[o + 3] = 0 end
end
reply[1] = denied
if not (denied == 0 and consume and cost > 0) then
  -- nothing is consumed: every limit that admitted reports its state without this request
  for i = 1, n do
    if alt[2 * i - 1] then
      reply[5 * i - 1] = alt[2 * i - 1]
      reply[5 * i] = math.max(0, alt[2 * i])
    end
  end
  return reply
end
ki = 1
for i = 1, n do
  local kind = ARGV[4 * i]
  if kind == 'g' then
    redis.call('SET', KEYS[ki], string.format('%.3f', w[3 * i - 2]), 'PX', w[3 * i - 1])
    ki = ki + 1
  elseif kind == 's' then
    local zkey = KEYS[ki]; local hkey = KEYS[ki + 1]; ki = ki + 2
    local ttl = tonumber(ARGV[4 * i + 2])
    local seq = w[3 * i - 1] + 1
    local member = string.format('%d:%d', seq, cost)
    redis.call('ZADD', zkey, now, member)
    redis.call('HSET', hkey, 'n', string.format('%d', w[3 * i - 2] + cost), 'seq', string.format('%d', seq))
    redis.call('PEXPIRE', zkey, ttl)
    redis.call('PEXPIRE', hkey, ttl)
    reply[5 * i + 2] = member
  else
    redis.call('SET', KEYS[ki], string.format('%d', w[3 * i - 2] + cost), 'PX', w[3 * i - 1])
    ki = ki + 1
  end
end
return reply
`;

/**
 * Gives back what a request consumed (refund of a 5xx): same KEYS layout, ARGV: now_ms (0 = TIME), cost, then
 * 4 values per limit: kind, q, p2, token. GCRA moves the TAT back (the key is deleted when the bucket is full);
 * sliding removes the member written; calendar decrements (never below 0, TTL kept).
 */
export const REFUND_LUA = `
${NOW_MS}
local cost = tonumber(ARGV[2])
local ki = 1
local argi = 3
local refunded = 0
while argi <= #ARGV do
  local kind = ARGV[argi]
  local q = tonumber(ARGV[argi + 1])
  local p2 = tonumber(ARGV[argi + 2])
  local token = ARGV[argi + 3]
  argi = argi + 4
  if kind == 'g' then
    local key = KEYS[ki]; ki = ki + 1
    local tat = tonumber(redis.call('GET', key) or '0') or 0
    if tat > 0 then
      tat = tat - cost * (p2 / q)
      if tat <= now then redis.call('DEL', key)
      else redis.call('SET', key, string.format('%.3f', tat), 'PX', math.max(1, math.ceil(tat - now))) end
      refunded = refunded + 1
    end
  elseif kind == 's' then
    local zkey = KEYS[ki]; local hkey = KEYS[ki + 1]; ki = ki + 2
    if token ~= '' and redis.call('ZREM', zkey, token) == 1 then
      redis.call('HINCRBY', hkey, 'n', -tonumber(string.match(token, ':(%d+)$')))
      refunded = refunded + 1
    end
  else
    local key = KEYS[ki]; ki = ki + 1
    local used = tonumber(redis.call('GET', key) or '0') or 0
    if used > 0 then
      redis.call('DECRBY', key, math.min(used, cost))
      refunded = refunded + 1
    end
  end
end
return refunded
`;
