/**
 * `@certloop/agent-rotator` Relay service: `Connect`, the long-lived stream an agent keeps open over mutual TLS.
 *
 * The client certificate is checked (as for Renew) when the stream opens; the agent's Hello must name the
 * cluster of that certificate. The server answers Welcome (the serials both sides are using), echoes heartbeats
 * and sends its own, and keeps a table of who is connected with which certificate. An established stream is
 * never ended because its certificate expired (the seed's rule); it is ended when its certificate is revoked (the
 * server sees a new CRL listing its serial: UNAUTHENTICATED / `CERTLOOP_CHAIN_REVOKED`), and by `disconnect`.
 */

import { CertloopError, type Clock, type RenewalRequest } from '@certloop/core';
import type { AgentMessage, ServerMessage } from '../shared/proto.js';
import { asRefusal } from '../shared/status.js';
import type { CheckedClient } from './client-check.js';
import type { ServerContext } from './context.js';
import type { BidiCall, BidiHandler } from './grpc/server.js';
import type { HeartbeatSweep } from './heartbeat-sweep.js';
import { tlsRefusal } from './peer-tls.js';
import { refusalStatus } from './refusal.js';

/** One open relay stream, as the server sees it. */
export interface ConnectedAgent {
  readonly id: number;
  readonly cluster: string;
  /** Free text the agent sent in Hello (replica, version). */
  readonly agent: string;
  readonly peer: string;
  /** Serial of the client certificate the stream was opened with. */
  readonly serialNumber: string;
  /** authorityKeyIdentifier of that certificate (which CRL speaks for it). */
  readonly issuerKeyId?: string | undefined;
  readonly certificateNotAfter: Date;
  readonly connectedAt: Date;
  lastHeartbeatAt: Date;
  heartbeats: number;
}

type Stream = BidiCall<AgentMessage, ServerMessage>;

/** One open stream in the table: what is shown of it, its call, its heartbeat sequence. */
interface TableEntry {
  readonly info: ConnectedAgent;
  readonly stream: Stream;
  sequence: number;
}

export class ConnectionTable {
  readonly #byId = new Map<number, TableEntry>();
  #nextId = 1;
  constructor(
    private readonly clock: Clock,
    private readonly onChange: () => void,
    private readonly onRemoved?: (agent: ConnectedAgent) => void,
  ) {}

  /** Adds an open stream; its id is the table's next one. */
  add(info: Omit<ConnectedAgent, 'id'>, stream: Stream): ConnectedAgent {
    // one literal of a fixed shape (no spread: a spread copy plus a property is a slower, larger object per stream)
    const entry: ConnectedAgent = {
      id: this.#nextId++,
      cluster: info.cluster,
      agent: info.agent,
      peer: info.peer,
      serialNumber: info.serialNumber,
      issuerKeyId: info.issuerKeyId,
      certificateNotAfter: info.certificateNotAfter,
      connectedAt: info.connectedAt,
      lastHeartbeatAt: info.lastHeartbeatAt,
      heartbeats: info.heartbeats,
    };
    this.#byId.set(entry.id, { info: entry, stream, sequence: 0 });
    this.onChange();
    return entry;
  }

  /** Records a heartbeat from the agent. */
  touch(id: number, at: Date): void {
    const entry = this.#byId.get(id);
    if (!entry) return;
    entry.info.lastHeartbeatAt = at;
    entry.info.heartbeats++;
  }

  /** Sends the server's next heartbeat on stream `id`; false when the stream is no longer in the table. */
  heartbeat(id: number): boolean {
    const entry = this.#byId.get(id);
    if (!entry) return false;
    entry.stream.write({ heartbeat: { sequence: ++entry.sequence, sentAtMs: this.clock.now().getTime() } });
    return true;
  }

  remove(id: number): void {
    const entry = this.#byId.get(id);
    if (!entry) return;
    this.#byId.delete(id);
    this.onRemoved?.(entry.info);
    this.onChange();
  }

  list(): ConnectedAgent[] {
    return [...this.#byId.values()].map((e) => ({ ...e.info }));
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Sends `RenewNow` on the streams `match` selects; resolves how many. */
  sendRenewNow(match: (agent: ConnectedAgent) => boolean, request: RenewalRequest): number {
    let n = 0;
    for (const entry of this.#byId.values()) {
      if (!match(entry.info)) continue;
      entry.stream.write({ renewNow: { reason: request.reason, activeIssuerKeyId: request.activeIssuerKeyId } });
      n++;
    }
    return n;
  }

  /** Sends the trust bundle agents should hold on every open stream; resolves how many. */
  sendTrustBundle(trustBundlePem: string): number {
    for (const entry of this.#byId.values()) entry.stream.write({ trustBundle: { trustBundlePem } });
    return this.#byId.size;
  }

  /** Ends the streams `match` selects with the given refusal; resolves how many were ended. */
  end(match: (agent: ConnectedAgent) => boolean, error: CertloopError): number {
    let n = 0;
    for (const [id, entry] of [...this.#byId]) {
      if (!match(entry.info)) continue;
      this.remove(id);
      entry.stream.end(refusalStatus(error));
      n++;
    }
    return n;
  }
}

/**
 * Heartbeats of every stream on one timer (see heartbeat-sweep.ts), keyed by the streams' table ids (small
 * integers: no per-stream closure or hash slot). The sweep's beat is `ConnectionTable.heartbeat`.
 */
export type StreamHeartbeats = HeartbeatSweep<number>;

export function relayService(
  ctx: ServerContext,
  table: ConnectionTable,
  heartbeats: StreamHeartbeats,
): BidiHandler<AgentMessage, ServerMessage> {
  return (stream: Stream) => {
    new RelayStream(ctx, table, heartbeats, stream).start();
  };
}

/**
 * One Connect stream's state. An object with its methods on the prototype, not a set of closures per stream: a
 * held stream costs one small object (what it keeps is its fields) and the call's callbacks.
 */
class RelayStream {
  readonly #ctx: ServerContext;
  readonly #table: ConnectionTable;
  readonly #heartbeats: StreamHeartbeats;
  readonly #stream: Stream;
  #id: number | undefined;
  #ended = false;
  /** The verdict once the check passed (then messages are handled at once, without a promise per message). */
  #checked: CheckedClient | undefined;
  /** Until then: messages wait for the check, in order. */
  #pending: Promise<CheckedClient> | undefined;

  constructor(ctx: ServerContext, table: ConnectionTable, heartbeats: StreamHeartbeats, stream: Stream) {
    this.#ctx = ctx;
    this.#table = table;
    this.#heartbeats = heartbeats;
    this.#stream = stream;
  }

  start(): void {
    const stream = this.#stream;
    if (!this.#ctx.callLimiter.take(stream.peer)) {
      this.#fail(new CertloopError('CERTLOOP_RATE_LIMITED', 'too many calls from this address'));
      return;
    }
    const socket = stream.socket;
    const pending = this.#ctx.clientCheck.checkCall(stream, socket, () => tlsRefusal(socket));
    this.#pending = pending;
    pending.then(
      (verdict) => {
        this.#checked = verdict;
        this.#pending = undefined;
      },
      (err) => this.#fail(err),
    );
    stream.onMessage = (message) => this.#message(message);
    // the agent finished sending: the stream ends with OK
    stream.onHalfClose = () => {
      this.#close();
      stream.end();
    };
    stream.onClose = () => this.#close();
  }

  #message(message: AgentMessage): void {
    const checked = this.#checked;
    if (checked) {
      try {
        this.#onChecked(checked, message);
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    void this.#pending?.then((verdict) => this.#onChecked(verdict, message)).catch((err: unknown) => this.#fail(err));
  }

  #onChecked(checked: CheckedClient, message: AgentMessage): void {
    if (this.#ended) return;
    const ctx = this.#ctx;
    const id = this.#id;
    if (id === undefined) {
      this.#hello(checked, message);
      return;
    }
    if (message.heartbeat) this.#table.touch(id, ctx.clock.now());
    const digest = message.heartbeat?.trustBundleDigest || message.bundleReport?.trustBundleDigest;
    if (digest) ctx.convergence?.reported(id, digest);
  }

  #hello(checked: CheckedClient, message: AgentMessage): void {
    const ctx = this.#ctx;
    const stream = this.#stream;
    if (!message.hello) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'the first message must be Hello');
    if (message.hello.cluster !== checked.cluster) {
      throw new CertloopError('CERTLOOP_FORBIDDEN', 'Hello names another cluster than the client certificate');
    }
    // a CRL that arrived between the certificate check and Hello: its sweep did not see this stream
    if (ctx.clientCheck.isRevoked(checked)) {
      throw new CertloopError('CERTLOOP_CHAIN_REVOKED', 'the client certificate is revoked');
    }
    const now = ctx.clock.now();
    const info = this.#table.add(
      {
        cluster: checked.cluster,
        agent: message.hello.agent.slice(0, 256),
        peer: stream.peer,
        serialNumber: checked.serialNumber,
        issuerKeyId: checked.issuerKeyId,
        certificateNotAfter: checked.notAfter,
        connectedAt: now,
        lastHeartbeatAt: now,
        heartbeats: 0,
      },
      stream,
    );
    this.#id = info.id;
    stream.write({
      welcome: {
        cluster: checked.cluster,
        clientSerialNumber: checked.serialNumber,
        serverSerialNumber: ctx.serverSerialNumber(),
        heartbeatIntervalMs: ctx.heartbeatIntervalMs,
        trustBundlePem: ctx.agentTrustBundlePem() ?? '',
      },
    });
    this.#heartbeats.add(info.id);
    const renewNow = ctx.convergence?.opened(info, message.hello.trustBundleDigest ?? '');
    if (renewNow) stream.write({ renewNow });
  }

  #close(): void {
    if (this.#ended) return;
    this.#ended = true;
    const id = this.#id;
    if (id !== undefined) {
      this.#heartbeats.delete(id);
      this.#table.remove(id);
    }
  }

  #fail(err: unknown): void {
    if (this.#ended) return;
    const refusal = asRefusal(err);
    this.#ctx.refused(refusal, { peer: this.#stream.peer, method: 'Connect' });
    this.#close();
    this.#stream.end(refusalStatus(refusal));
  }
}
