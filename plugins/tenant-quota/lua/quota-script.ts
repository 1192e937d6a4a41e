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
 * (token: the sliding-log member written, for a refund; "" otherwise).
 * TTLs: GCRA key until its TAT (the bucket is full again then); sliding keys one window after the last write;
 * calendar keys until the window's end.
 */
export const QUOTA_LUA = `
${NOW_MS}
local cost = tonumber(ARGV[2])
local consume = ARGV[3] == '1'
local eps = 1e-6
local ki = 1
local results = {}
local plans = {}
local denied = 0
local argi = 4
while argi <= #ARGV do
  local kind = ARGV[argi]
  local q = tonumber(ARGV[argi + 1])
  local p2 = tonumber(ARGV[argi + 2])
  local p3 = tonumber(ARGV[argi + 3])
  argi = argi + 4
  local allowed, remaining, reset, retry
  local plan = { kind = kind }
  if kind == 'g' then
    local key = KEYS[ki]; ki = ki + 1
    local interval = p2 / q
    local capacity = p3 * interval
    local tat = tonumber(redis.call('GET', key) or '0') or 0
    if tat < now then tat = now end
    local new_tat = tat + cost * interval
    if new_tat - now <= capacity + eps then
      allowed = 1
      remaining = math.floor((now + capacity - new_tat) / interval + eps)
      reset = math.ceil(new_tat - now)
      retry = 0
      plan.key = key; plan.tat = new_tat; plan.ttl = math.max(1, math.ceil(new_tat - now))
    else
      allowed = 0
      remaining = math.floor((now + capacity - tat) / interval + eps)
      reset = math.ceil(tat - now)
      retry = math.ceil(new_tat - capacity - now)
    end
  elseif kind == 's' then
    local zkey = KEYS[ki]; local hkey = KEYS[ki + 1]; ki = ki + 2
    local cutoff = now - p2
    local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', cutoff)
    if #old > 0 then
      local freed = 0
      for _, m in ipairs(old) do freed = freed + tonumber(string.match(m, ':(%d+)$')) end
      redis.call('ZREMRANGEBYSCORE', zkey, '-inf', cutoff)
      redis.call('HINCRBY', hkey, 'n', -freed)
    end
    local used = tonumber(redis.call('HGET', hkey, 'n') or '0') or 0
    local oldest = redis.call('ZRANGE', zkey, 0, 0, 'WITHSCORES')
    if used + cost <= q then
      allowed = 1
      remaining = q - used - cost
      if oldest[2] then reset = math.ceil(tonumber(oldest[2]) + p2 - now) else reset = p2 end
      retry = 0
      plan.zkey = zkey; plan.hkey = hkey; plan.ttl = p2
    else
      allowed = 0
      remaining = math.max(0, q - used)
      if oldest[2] then reset = math.ceil(tonumber(oldest[2]) + p2 - now) else reset = p2 end
      -- members each hold >= 1 unit, so the first (needed) members free enough
      local need = used + cost - q
      retry = p2
      if cost <= q then
        local first = redis.call('ZRANGE', zkey, 0, need - 1, 'WITHSCORES')
        local freed = 0
        for i = 1, #first, 2 do
          freed = freed + tonumber(string.match(first[i], ':(%d+)$'))
          if freed >= need then retry = math.ceil(tonumber(first[i + 1]) + p2 - now); break end
        end
      end
    end
  else
    local key = KEYS[ki]; ki = ki + 1
    local used = tonumber(redis.call('GET', key) or '0') or 0
    reset = p2
    if used + cost <= q then
      allowed = 1
      remaining = q - used - cost
      retry = 0
      plan.key = key; plan.ttl = math.max(1, p2)
    else
      allowed = 0
      remaining = math.max(0, q - used)
      retry = p2
    end
  end
  if allowed == 0 then denied = denied + 1 end
  plans[#plans + 1] = plan
  results[#results + 1] = allowed
  results[#results + 1] = remaining
  results[#results + 1] = math.max(0, reset)
  results[#results + 1] = math.max(0, retry)
  results[#results + 1] = ''
end
if denied == 0 and consume and cost > 0 then
  for i, plan in ipairs(plans) do
    if plan.kind == 'g' then
      redis.call('SET', plan.key, string.format('%.3f', plan.tat), 'PX', plan.ttl)
    elseif plan.kind == 's' then
      local seq = redis.call('HINCRBY', plan.hkey, 'seq', 1)
      local member = seq .. ':' .. cost
      redis.call('ZADD', plan.zkey, now, member)
      redis.call('HINCRBY', plan.hkey, 'n', cost)
      redis.call('PEXPIRE', plan.zkey, plan.ttl)
      redis.call('PEXPIRE', plan.hkey, plan.ttl)
      results[(i - 1) * 5 + 5] = member
    else
      redis.call('INCRBY', plan.key, cost)
      redis.call('PEXPIRE', plan.key, plan.ttl)
    end
  end
end
local reply = { denied, now }
for _, v in ipairs(results) do reply[#reply + 1] = v end
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
