/**
 * `@certloop/agent-rotator` issuer drain: the agent's memory of a CA rotation's drain. A `RenewNow` names the CA
 * that signs now; until the stored client certificate was issued by it, the rotator renews early (through the
 * elected replica only: the others remember it, so a replica that becomes leader renews). After one successful
 * renewal for a given issuer it stops asking, so a server still signing with the old CA cannot cause a loop.
 *
 * It also remembers that the server refused the certificate as untrusted (`CERTLOOP_UNAUTHENTICATED`: its CA was
 * retired while the agent was away): the rotator then renews at once, which the CA client turns into a token
 * bootstrap when the server refuses the renewal the same way.
 */
export class IssuerDrain {
  #active: string | undefined;
  #renewedFor: string | undefined;
  #untrusted = false;

  /** The server refused the client certificate as untrusted; true when it is news. */
  refusedAsUntrusted(): boolean {
    if (this.#untrusted) return false;
    this.#untrusted = true;
    return true;
  }

  /** A RenewNow for `activeIssuerKeyId`; true when it is news (the rotator should look again). */
  request(activeIssuerKeyId: string): boolean {
    const id = activeIssuerKeyId.toLowerCase();
    if (!/^[0-9a-f]+$/.test(id) || id === this.#active) return false;
    this.#active = id;
    this.#renewedFor = undefined;
    return true;
  }

  /** Should a certificate whose authorityKeyIdentifier is `issuerKeyId` be renewed now? */
  shouldRenew(issuerKeyId: string | undefined): boolean {
    if (this.#untrusted) return true;
    const active = this.#active;
    return active !== undefined && this.#renewedFor !== active && issuerKeyId !== active;
  }

  /** A renewal succeeded (whatever issuer signed it). */
  renewed(): void {
    this.#untrusted = false;
    if (this.#active !== undefined) this.#renewedFor = this.#active;
  }

  get activeIssuerKeyId(): string | undefined {
    return this.#active;
  }
}
