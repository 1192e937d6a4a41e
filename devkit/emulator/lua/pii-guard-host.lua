-- A small stand-in for Kong's `kong` and `ngx` (only what the pii-masking guard chunks use), to run the shipped guard
-- Lua (plugins/pii-masking/kong/guard-*.lua) with luajit: in the unit spec (guard-harness.ts) and in the emulator,
-- which runs the guard where kong.yml configures it as Kong's bundled pre-function (devkit/emulator/lua-guard.ts).
-- As a module: local run = dofile("pii-guard-host.lua"); print(run(scenario, chunks_dir)).
-- As a host: luajit pii-guard-host.lua <chunks_dir> reads one scenario per line (a Lua table literal) and answers
-- one line of JSON each. The scenario says what Kong would hold (request headers, URI, vars, ctx.shared, the
-- response's source, status, headers, body chunks); the output is what the chunks did (status, headers, body,
-- serialize values, upstream request header changes, ctx.shared). Strings are bytes both ways.
local function encode(value)
  local t = type(value)
  if t == "nil" then return "null" end
  if t == "boolean" or t == "number" then return tostring(value) end
  if t == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  local n = 0
  for _ in pairs(value) do n = n + 1 end
  if n > 0 and #value == n then
    local parts = {}
    for i = 1, n do parts[i] = encode(value[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = encode(k) .. ":" .. encode(value[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local bit = require("bit")
local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, 64 do B64[alphabet:byte(i)] = i - 1 end
end

-- ngx.decode_base64: nil on a character outside the alphabet or a bad length (padding optional)
local function b64decode(data)
  data = data:gsub("=+$", "")
  if #data % 4 == 1 then return nil end
  local out, n = {}, 0
  for i = 1, #data, 4 do
    local a, b, c, d = B64[data:byte(i)], B64[data:byte(i + 1) or 61], B64[data:byte(i + 2) or 61], B64[data:byte(i + 3) or 61]
    if a == nil or (b == nil and i + 1 <= #data) or (c == nil and i + 2 <= #data) or (d == nil and i + 3 <= #data) then return nil end
    local v = bit.bor(bit.lshift(a, 18), bit.lshift(b or 0, 12), bit.lshift(c or 0, 6), d or 0)
    n = n + 1
    if i + 3 <= #data then out[n] = string.char(bit.rshift(v, 16), bit.band(bit.rshift(v, 8), 255), bit.band(v, 255))
    elseif i + 2 <= #data then out[n] = string.char(bit.rshift(v, 16), bit.band(bit.rshift(v, 8), 255))
    else out[n] = string.char(bit.rshift(v, 16)) end
  end
  return table.concat(out)
end

local compiled = {}
local function load_chunk(dir, name)
  local path = dir .. "/" .. name
  local fn = compiled[path]
  if not fn then
    fn = assert(loadfile(path))() -- the chunk returns the phase function
    compiled[path] = fn
  end
  return fn
end

local function run(scenario, dir)
  local out = { serialize = {}, service_request = {}, errors = {} }
  local response_headers = {}
  for k, v in pairs(scenario.response_headers or {}) do response_headers[string.lower(k)] = v end
  local header_proxy = setmetatable({}, {
    __index = function(_, k) return response_headers[string.lower(k)] end,
    __newindex = function(_, k, v)
      if type(v) == "number" then v = tostring(v) end
      if type(v) == "table" and #v == 0 then v = nil end
      response_headers[string.lower(k)] = v
    end,
  })
  local shared = scenario.shared or {}
  local ctx = {}
  _G.ngx = {
    ctx = ctx,
    var = scenario.var or {},
    header = header_proxy,
    status = scenario.status or 200,
    arg = {},
    resp = { get_headers = function()
      local copy = {}
      for k, v in pairs(response_headers) do copy[k] = v end
      return copy
    end },
    decode_base64 = b64decode,
  }
  _G.kong = {
    ctx = { shared = shared },
    request = { get_headers = function() return scenario.request_headers or {} end },
    service = { request = {
      clear_header = function(name) out.service_request[name] = false end,
      set_header = function(name, value) out.service_request[name] = value end,
    } },
    response = { get_source = function() return scenario.source or "service" end },
    log = {
      set_serialize_value = function(key, value) out.serialize[#out.serialize + 1] = { key = key, value = value == nil and "<nil>" or value } end,
      err = function(...) out.errors[#out.errors + 1] = table.concat({ ... }) end,
    },
  }
  local function chunk(name) return load_chunk(dir, name)() end -- the phase function, run
  if scenario.phases.access then chunk("guard-access.lua") end
  if scenario.phases.header_filter then chunk("guard-header-filter.lua") end
  if scenario.phases.body_filter then
    local body = {}
    for i, piece in ipairs(scenario.chunks or {}) do
      ngx.arg[1] = piece
      ngx.arg[2] = i == #scenario.chunks
      chunk("guard-body-filter.lua")
      body[#body + 1] = ngx.arg[1]
    end
    out.body = table.concat(body)
  end
  out.status = ngx.status
  out.headers = response_headers
  out.shared_request = shared.pii_masking_request
  return encode(out)
end

if arg and arg[0] and arg[0]:match("pii%-guard%-host%.lua$") and arg[1] then
  for line in io.lines() do
    local ok, result = pcall(function()
      local scenario = assert(loadstring("return " .. line))()
      return run(scenario, arg[1])
    end)
    io.write(ok and result or encode({ host_error = tostring(result) }), "\n")
    io.flush()
  end
  return
end

return run
