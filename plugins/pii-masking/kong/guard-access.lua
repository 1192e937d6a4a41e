-- pii-masking guard, access phase (Kong's bundled pre-function; runs in Kong, no plugin server involved).
-- Strips Range and If-Range (a client must not reassemble PII from 206 fragments), narrows Accept-Encoding to the
-- codings the plugin decodes (gzip, deflate, br, identity), and stores the request snapshot the plugin reads in its
-- response phase (one PDK call instead of reading headers and query in access).
local DECODED = { gzip = true, ["x-gzip"] = true, deflate = true, br = true, identity = true }

local function trim(text)
  local first = string.find(text, "%S")
  if not first then return "" end
  local last = #text
  while true do
    local c = string.byte(text, last)
    if c ~= 32 and c ~= 9 then break end
    last = last - 1
  end
  return string.sub(text, first, last)
end

local function narrow(value)
  if type(value) == "table" then value = table.concat(value, ", ") end
  local kept, changed = {}, false
  for item in string.gmatch(value, "[^,]+") do
    local trimmed = trim(item)
    if trimmed ~= "" then
      local coding = string.lower(string.match(trimmed, "^([^;%s]*)") or "")
      if DECODED[coding] then kept[#kept + 1] = trimmed else changed = true end
    end
  end
  if not changed then return nil end
  if #kept == 0 then return "identity" end
  return table.concat(kept, ", ")
end

return function()
  local headers = kong.request.get_headers()
  if headers["range"] ~= nil then kong.service.request.clear_header("Range") end
  if headers["if-range"] ~= nil then kong.service.request.clear_header("If-Range") end
  local accept = headers["accept-encoding"]
  if accept ~= nil then
    local narrowed = narrow(accept)
    if narrowed ~= nil then kong.service.request.set_header("Accept-Encoding", narrowed) end
  end
  kong.ctx.shared.pii_masking_request = { headers = headers, uri = ngx.var.request_uri or "" }
end
