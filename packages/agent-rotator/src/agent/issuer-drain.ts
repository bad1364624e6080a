/**
 * `@certloop/agent-rotator` issuer drain: the agent's memory of a CA rotation's drain, as the active issuer key id
 * core's `Rotator` compares its stored certificate with (`activeIssuerKeyId`). A `RenewNow` names the CA that signs
 * now; every replica remembers it, so whichever replica leads renews (the rotator renews a certificate once per
 * issuer change, so a server still signing with the old CA cannot cause a loop).
 *
 * It also remembers that the server refused the certificate as untrusted (`CERTLOOP_UNAUTHENTICATED`: its CA was
 * retired while the agent was away): the rotator then renews at once, which the CA client turns into a token
 * bootstrap when the server refuses the renewal the same way.
 */

/** Matches no authority key identifier: "whatever issued the stored certificate, it is not trusted any more". */
const UNTRUSTED = 'untrusted';

export class IssuerDrain {
  #active: string | undefined;
  #untrusted = false;

  /** A RenewNow for `activeIssuerKeyId`; true when it is news (the rotator should look again). */
  request(activeIssuerKeyId: string): boolean {
    const id = activeIssuerKeyId.toLowerCase();
    if (!/^[0-9a-f]+$/.test(id) || id === this.#active) return false;
    this.#active = id;
    return true;
  }

  /** The server refused the client certificate as untrusted; true when it is news. */
  refusedAsUntrusted(): boolean {
    if (this.#untrusted) return false;
    this.#untrusted = true;
    return true;
  }

  /** A renewal succeeded: the refusal was answered. */
  renewed(): void {
    this.#untrusted = false;
  }

  /** For core's `Rotator`: the key id the stored certificate's issuer must have, when the agent knows one. */
  activeIssuerKeyId(): string | undefined {
    return this.#untrusted ? UNTRUSTED : this.#active;
  }
}
