import { XMLParser } from 'fast-xml-parser';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuthServer } from './auth.js';
import { API_VERSIONS } from './routes.js';
import type { SalesforceData } from './data.js';

/**
 * The SOAP API's `login` and `logout` (`POST /services/Soap/u/XX.X`, the partner WSDL; `/Soap/c/` the
 * enterprise one), which jsforce's `conn.login(user, pass)` without OAuth client and simple-salesforce's
 * `Salesforce(username, password, security_token)` send. Login takes a username the org knows and the
 * org's password, with the security token appended or not; it answers a `loginResponse` with a new
 * session of the REST API (`sessionId`, `serverUrl` on this instance, `userId`, `userInfo`). Failures are
 * SOAP faults with HTTP 500, as Salesforce sends them (`sf:INVALID_LOGIN`). Nothing else of the SOAP API
 * is emulated: another operation is a fault naming it.
 */

export interface SoapDeps {
  auth: AuthServer;
  data: SalesforceData;
  orgSfId: string;
  orgName: string;
  baseUrl(): string;
  sessionSeconds(): number;
}

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, trimValues: false });

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const el = (name: string, v: unknown) => (v === null || v === undefined ? `<${name} xsi:nil="true"/>` : `<${name}>${xmlEscape(String(v))}</${name}>`);

const envelope = (body: string, ns = 'urn:partner.soap.sforce.com') =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="${ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

function fault(reply: FastifyReply, code: string, message: string, kind = 'LoginFault'): FastifyReply {
  const body = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>`
    + `<faultcode>sf:${code}</faultcode><faultstring>${xmlEscape(`${code}: ${message}`)}</faultstring>`
    + `<detail><sf:${kind} xsi:type="sf:${kind}"><sf:exceptionCode>${code}</sf:exceptionCode><sf:exceptionMessage>${xmlEscape(message)}</sf:exceptionMessage></sf:${kind}></detail>`
    + '</soapenv:Fault></soapenv:Body></soapenv:Envelope>';
  return reply.code(500).header('content-type', 'text/xml;charset=UTF-8').send(body);
}

export function registerSoap(app: FastifyInstance, deps: SoapDeps): void {
  const handler = (wsdl: 'u' | 'c') => async (req: { params: unknown; body: unknown }, reply: FastifyReply) => {
    const version = (req.params as { version: string }).version;
    if (!API_VERSIONS.includes(version)) return fault(reply, 'UNSUPPORTED_API_VERSION', 'Invalid Api version specified on URL', 'UnexpectedErrorFault');
    let doc: any;
    try {
      doc = parser.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      doc = undefined;
    }
    const body = doc?.Envelope?.Body;
    if (!body || typeof body !== 'object') {
      return reply.code(500).header('content-type', 'text/xml;charset=UTF-8').send(envelope('<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Unable to parse the request: not a SOAP envelope</faultstring></soapenv:Fault>'));
    }
    const ns = wsdl === 'u' ? 'urn:partner.soap.sforce.com' : 'urn:enterprise.soap.sforce.com';
    if (body.login) {
      const username = String(body.login.username ?? '').trim();
      const password = String(body.login.password ?? '');
      const userId = deps.auth.checkPassword(username, password);
      if (!userId) return fault(reply, 'INVALID_LOGIN', 'Invalid username, password, security token; or user locked out.');
      const sessionId = deps.auth.createSession(userId);
      const user = deps.data.table('User').byId.get(userId);
      const base = deps.baseUrl();
      const result = [
        el('metadataServerUrl', `${base}/services/Soap/m/${version}/${deps.orgSfId}`),
        el('passwordExpired', false),
        el('sandbox', true),
        el('serverUrl', `${base}/services/Soap/${wsdl}/${version}/${deps.orgSfId}`),
        el('sessionId', sessionId),
        el('userId', userId),
        '<userInfo>',
        el('accessibilityMode', false), el('chatterExternal', false), el('currencySymbol', '$'), el('orgAttachmentFileSizeLimit', 5242880),
        el('orgDefaultCurrencyIsoCode', 'USD'), el('orgDefaultCurrencyLocale', 'en_US'), el('orgDisallowHtmlAttachments', false), el('orgHasPersonAccounts', false),
        el('organizationId', deps.orgSfId), el('organizationMultiCurrency', false), el('organizationName', deps.orgName), el('profileId', '00e000000000000AAA'),
        el('roleId', null), el('sessionSecondsValid', deps.sessionSeconds()), el('userDefaultCurrencyIsoCode', null), el('userEmail', user?.Email ?? null),
        el('userFullName', user?.Name ?? username), el('userId', userId), el('userLanguage', 'en_US'), el('userLocale', 'en_US'), el('userName', user?.Username ?? username),
        el('userTimeZone', 'GMT'), el('userType', 'Standard'), el('userUiSkin', 'Theme3'),
        '</userInfo>',
      ].join('');
      return reply.code(200).header('content-type', 'text/xml;charset=UTF-8').send(envelope(`<loginResponse><result>${result}</result></loginResponse>`, ns));
    }
    if (body.logout !== undefined) {
      const token = String(doc.Envelope?.Header?.SessionHeader?.sessionId ?? '');
      if (!deps.auth.endSession(token)) return fault(reply, 'INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session', 'UnexpectedErrorFault');
      return reply.code(200).header('content-type', 'text/xml;charset=UTF-8').send(envelope('<logoutResponse/>', ns));
    }
    const op = Object.keys(body)[0] ?? '';
    return reply.code(500).header('content-type', 'text/xml;charset=UTF-8').send(envelope(`<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>No operation available for request {${ns}}${xmlEscape(op)} (the sandbox emulates login and logout only)</faultstring></soapenv:Fault>`));
  };
  app.post('/services/Soap/u/:version', handler('u'));
  app.post('/services/Soap/c/:version', handler('c'));
}
