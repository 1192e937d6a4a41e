import { counter } from '../../shared/observability/metrics';

/** Requests translated, by operation (bounded: the WSDL's operation names) and outcome. */
export const translations = counter('kong_rest_to_soap_requests_total', 'REST requests translated to SOAP, by operation and outcome', ['operation', 'outcome']);
/** Upstream answers, by what they were: ok, fault (by status class), invalid (not SOAP, or over a limit). */
export const upstreamAnswers = counter('kong_rest_to_soap_responses_total', 'SOAP upstream answers translated to JSON, by kind', ['kind']);
