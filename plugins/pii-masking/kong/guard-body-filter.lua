-- pii-masking guard, body_filter phase (Kong's bundled pre-function): swaps in the body the header_filter chunk chose
-- (the masked body, or the 502 problem) for the first chunk, and empties the rest of the upstream's.
return function()
  local ctx = ngx.ctx
  local body = ctx.pii_masking_body
  if body == nil then return end
  if ctx.pii_masking_sent then
    ngx.arg[1] = ""
  else
    ctx.pii_masking_sent = true
    ngx.arg[1] = body
  end
end
