import { errorPageMessage, errorTemplate, responseType } from './error-templates';
import { send } from './pdk';
import type { RequestContext } from './request-context';

/**
 * Kong's error page (Kong.handle_error -> kong/error_handlers.lua): what nginx answers when a Lua error escapes a
 * phase that does not catch it (rewrite, response), or proxying fails (502, 504). The format follows the request's
 * Accept, else its Content-Type, else error_default_type (text/plain); the headers plugins set are gone (nginx
 * clears the output headers for an error page).
 */
export function errorPage(ctx: RequestContext, status: number): void {
  const accept = ctx.headers.get('accept') ?? ctx.headers.get('content-type') ?? 'text/plain';
  const message = errorPageMessage(status);
  const code = status === 494 ? 400 : status;
  ctx.responseHeaders.clear();
  ctx.unexpected = true;
  if (accept.startsWith('application/grpc')) send(ctx, code, { message }, undefined);
  else {
    const type = responseType(accept);
    const template = errorTemplate(type) ?? errorTemplate('application/json')!;
    send(ctx, code, template(message, ctx.requestId), { 'Content-Type': type });
  }
  ctx.response!.source = 'error';
}
