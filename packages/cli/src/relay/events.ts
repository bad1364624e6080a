/**
 * `certloop server` and `certloop agent` log lines: one line per relay event, with the fields a log collector
 * filters on (never a token, key or CSR).
 */
import type { RelayAgentEvent, RelayServerEvent } from '@certloop/agent-rotator';
import type { Logger } from '../lib/log.js';

export function logServerEvent(log: Logger, event: RelayServerEvent): void {
  switch (event.type) {
    case 'issued':
      log.log('info', 'issued', {
        method: event.method,
        cluster: event.cluster,
        peer: event.peer,
        serialNumber: event.serialNumber,
        notAfter: event.notAfter.toISOString(),
      });
      break;
    case 'refused':
      log.log('warn', 'refused', { method: event.method, peer: event.peer, code: event.code });
      break;
    case 'server-certificate':
      log.log('info', 'server certificate loaded', { serialNumber: event.serialNumber, previous: event.previous });
      break;
    case 'server-certificate-rejected':
      log.log('error', 'server certificate update refused', { code: event.error.code });
      break;
    case 'signing-authority':
      log.log('info', 'signing authority loaded', { serialNumber: event.serialNumber });
      break;
    case 'signing-authority-rejected':
      log.log('error', 'signing authority update refused', { code: event.error.code });
      break;
    case 'connections':
      // one per stream opened or closed: debug
      log.log('debug', 'connections', { count: event.count });
      break;
    case 'trust-bundle-sent':
      log.log('info', 'trust bundle sent to agents', { streams: event.streams });
      break;
    case 'renew-now':
      log.log('info', 'renewal request passed on', {
        activeIssuerKeyId: event.activeIssuerKeyId,
        notified: event.notified,
      });
      break;
    case 'server-renewal': {
      const r = event.event;
      if (r.type === 'succeeded') {
        log.log('info', 'server certificate renewed', {
          serialNumber: r.serialNumber,
          notAfter: r.notAfter.toISOString(),
        });
      } else if (r.type === 'failed') log.log('warn', 'server certificate renewal failed', { code: r.error.code });
      else if (r.type === 'scheduled')
        log.log('debug', 'server certificate renewal scheduled', { renewAt: r.renewAt.toISOString() });
      break;
    }
    case 'bundle-table-publish-failed':
      log.log('warn', 'bundle table not published', { code: event.error.code });
      break;
  }
}

export function logAgentEvent(log: Logger, event: RelayAgentEvent): void {
  switch (event.type) {
    case 'certificate':
      log.log('info', 'client certificate loaded', {
        serialNumber: event.serialNumber,
        notAfter: event.notAfter.toISOString(),
      });
      break;
    case 'certificate-rejected':
      log.log('error', 'client certificate refused', { code: event.error.code });
      break;
    case 'certificate-expired':
      log.log('error', 'client certificate expired', { serialNumber: event.serialNumber });
      break;
    case 'rotation': {
      const r = event.event;
      if (r.type === 'skipped-not-leader' || r.type === 'started') return;
      const fields: Record<string, unknown> = { event: r.type, path: event.path };
      if ('serialNumber' in r) fields.serialNumber = r.serialNumber;
      if (r.type === 'succeeded') fields.notAfter = r.notAfter.toISOString();
      if (r.type === 'scheduled') fields.renewAt = r.renewAt.toISOString();
      if (r.type === 'failed') fields.code = r.error.code;
      log.log(r.type === 'failed' ? 'warn' : 'info', `rotation ${r.type}`, fields);
      break;
    }
    case 'leader': {
      const e = event.event;
      if (e.type === 'elected') log.log('info', 'elected leader');
      else if (e.type === 'lost') log.log('warn', 'lost leadership', { reason: e.reason });
      break;
    }
    case 'halted':
      log.log('error', 'halted: not retrying until the client secret or the token changes', {
        reason: event.reason,
        code: event.error.code,
      });
      break;
    case 'resumed':
      log.log('info', 'resumed', { reason: event.reason, by: event.by });
      break;
    case 'connection': {
      const e = event.event;
      if (e.type === 'heartbeat') log.log('debug', 'heartbeat');
      else if (e.type === 'connected') log.log('info', 'connected', { clientSerialNumber: e.clientSerialNumber });
      else if (e.type === 'renew-now')
        log.log('info', 'renew now', { reason: e.reason, activeIssuerKeyId: e.activeIssuerKeyId });
      else if (e.type === 'trust-bundle-offered') log.log('debug', 'trust bundle offered by the server');
      else if (e.type === 'disconnected' && !e.error) log.log('info', 'disconnected');
      else log.log('warn', e.type, { code: e.error?.code });
      break;
    }
    case 'trust-bundle':
      log.log('info', 'trust bundle changed', { digest: event.digest });
      break;
    case 'trust-bundle-adopted':
      log.log('info', 'trust bundle adopted from the server', { digest: event.digest, stored: event.stored });
      break;
    case 'trust-bundle-refused':
      log.log('warn', 'trust bundle from the server not adopted', {
        code: event.error.code,
        refusal: event.error.details?.refusal,
      });
      break;
  }
}
