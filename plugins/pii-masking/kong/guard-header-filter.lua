-- pii-masking guard, header_filter phase (Kong's bundled pre-function: it runs first in this phase).
-- A proxied response without the plugin's result in kong.ctx.shared.pii_masking (the plugin server crashed, is
-- restarting, timed out, or failed) is replaced by a 502 problem+json and every upstream header is dropped: Kong
-- itself continues after a plugin-server failure, this is what keeps the unmasked body in. Otherwise the result is
-- applied: status, headers (false clears one), the masked body (swapped in by the body_filter chunk), log overrides.
local PROBLEM = '{"type":"urn:kong-plugins:pii-masking:response-unscannable","title":"Response cannot be checked",'
  .. '"status":502,"detail":"The response could not be checked for sensitive data.",'
  .. '"code":"response-unscannable","reason":"plugin_unavailable"}'
local KEEP = { date = true, server = true, via = true, connection = true, ["x-kong-request-id"] = true,
  ["x-kong-proxy-latency"] = true, ["x-kong-upstream-latency"] = true }

local function refuse(why)
  for name in pairs(ngx.resp.get_headers()) do
    if not KEEP[string.lower(name)] then ngx.header[name] = nil end
  end
  ngx.status = 502
  ngx.header["Content-Type"] = "application/problem+json"
  ngx.header["Content-Length"] = #PROBLEM
  ngx.header["Cache-Control"] = "no-store"
  ngx.ctx.pii_masking_body = PROBLEM
  kong.log.err("pii-masking guard: ", why, "; answered 502")
end

return function()
  local result = kong.ctx.shared.pii_masking
  if type(result) ~= "table" or result.ok ~= true then
    if kong.response.get_source() == "service" then refuse("no masking result for a proxied response") end
    return
  end
  local body
  if result.body ~= nil then
    body = type(result.body) == "string" and ngx.decode_base64(result.body) or nil
    if body == nil then return refuse("malformed masking result") end
  end
  if type(result.status) == "number" then ngx.status = result.status end
  if type(result.headers) == "table" then
    for name, value in pairs(result.headers) do
      if value == false then ngx.header[name] = nil else ngx.header[name] = value end
    end
  end
  if body ~= nil then
    ngx.ctx.pii_masking_body = body
    ngx.header["Content-Length"] = #body
  end
  if type(result.logs) == "table" then
    for _, override in ipairs(result.logs) do
      if override.clear then kong.log.set_serialize_value(override.path, nil)
      else kong.log.set_serialize_value(override.path, override.value) end
    end
  end
  if type(result.uri) == "string" then
    -- Kong's serializer: url = scheme://host:port .. request_uri; upstream_uri keeps its path, gets the masked query
    local var = ngx.var
    local port = ngx.ctx.host_port or tonumber(var.server_port, 10)
    kong.log.set_serialize_value("request.uri", result.uri)
    kong.log.set_serialize_value("request.url", var.scheme .. "://" .. var.host .. (port and (":" .. port) or "") .. result.uri)
    local q = string.find(result.uri, "?", 1, true)
    local upstream = var.upstream_uri or ""
    if upstream ~= "" and q then
      kong.log.set_serialize_value("upstream_uri", (string.match(upstream, "^[^?]*") or "") .. string.sub(result.uri, q))
    end
  end
end
