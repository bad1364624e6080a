/**
 * `@certloop/agent-rotator` issuer drain: the agent's memory of a CA rotation's drain. A `RenewNow` names the CA
 * that signs now; until the stored client certificate was issued by it, the rotator renews early (through the
 * elected replica only: the others remember it, so a replica that becomes leader renews). After one successful
 * renewal for a given issuer it stops asking, so a server still signing with the old CA cannot cause a loop.
 */
export class IssuerDrain {
  #active: string | undefined;
  #renewedFor: string | undefined;

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
    const active = this.#active;
    return active !== undefined && this.#renewedFor !== active && issuerKeyId !== active;
  }

  /** A renewal succeeded (whatever issuer signed it). */
  renewed(): void {
    if (this.#active !== undefined) this.#renewedFor = this.#active;
  }

  get activeIssuerKeyId(): string | undefined {
    return this.#active;
  }
}
