/**
 * Internal (`@certloop/core` x509): structure checks for the extensions OpenSSL and Go decode but certloop does not
 * use (RFC 5280 4.2). OpenSSL marks a certificate whose such extension does not decode as invalid (it then reads
 * CA:FALSE, and verification fails), so certloop refuses it too, with `CERTLOOP_INVALID_DER`, instead of reading a
 * CA where OpenSSL reads none. Only the shape is checked here; what the values mean is for whoever enforces them.
 */
import {
  children,
  type DerNode,
  derError,
  expectTag,
  parseDer,
  readBitString,
  readOid,
  readSmallInteger,
  Tag,
} from './der.js';
import { decodeGeneralNames } from './general-names.js';
import { OID } from './oids.js';

const EXTENSION = {
  issuerAltName: '2.5.29.18',
  cRLDistributionPoints: '2.5.29.31',
  policyMappings: '2.5.29.33',
  policyConstraints: '2.5.29.36',
  inhibitAnyPolicy: '2.5.29.54',
  subjectInfoAccess: '1.3.6.1.5.5.7.1.11',
} as const;

/** One GeneralName, given as a node (wrapped so the GeneralNames decoder checks it). */
function checkGeneralName(node: DerNode): void {
  decodeGeneralNames({ ...node, tag: Tag.SEQUENCE, start: node.start, contentStart: node.start, end: node.end });
}

/** A SEQUENCE OF GeneralName under an implicit context tag (or a plain SEQUENCE). */
function checkGeneralNames(node: DerNode): void {
  decodeGeneralNames({ ...node, tag: Tag.SEQUENCE });
}

function sequenceOf(value: Uint8Array, what: string, minimum = 1): DerNode[] {
  const list = children(expectTag(parseDer(value), Tag.SEQUENCE, what));
  if (list.length < minimum) derError(`empty ${what}`);
  return list;
}

/** NameConstraints (4.2.1.10): [0] and/or [1] GeneralSubtrees of { base, [0] minimum, [1] maximum }. */
function checkNameConstraints(value: Uint8Array): void {
  let last = -1;
  for (const subtrees of sequenceOf(value, 'NameConstraints', 0)) {
    const index = subtrees.tag === 0xa0 ? 0 : subtrees.tag === 0xa1 ? 1 : -1;
    if (index <= last) derError('NameConstraints fields unknown, repeated or out of order');
    last = index;
    const list = children(subtrees);
    if (list.length === 0) derError('empty GeneralSubtrees');
    for (const subtree of list) {
      const [base, ...rest] = children(expectTag(subtree, Tag.SEQUENCE, 'GeneralSubtree'));
      if (!base) derError('GeneralSubtree without a base');
      // An iPAddress base is an address and a mask: 8 or 32 octets.
      if (base.tag === 0x87) {
        if (base.end - base.contentStart !== 8 && base.end - base.contentStart !== 32)
          derError('bad iPAddress constraint');
      } else checkGeneralName(base);
      let bound = -1;
      for (const field of rest) {
        const at = field.tag === 0x80 ? 0 : field.tag === 0x81 ? 1 : -1;
        if (at <= bound) derError('GeneralSubtree bounds unknown, repeated or out of order');
        bound = at;
        const amount = readSmallInteger({ ...field, tag: Tag.INTEGER });
        if (at === 0 && amount === 0) derError('GeneralSubtree encodes its DEFAULT minimum', 'default-encoded');
      }
    }
  }
  // An empty NameConstraints is decoded by OpenSSL (RFC 5280 forbids CAs to issue it; path validation decides).
}

/** certificatePolicies (4.2.1.4): PolicyInformation { OID, qualifiers SEQUENCE OF { OID, ANY } }. */
function checkCertificatePolicies(value: Uint8Array): void {
  for (const info of sequenceOf(value, 'certificatePolicies')) {
    const [policy, qualifiers, extra] = children(expectTag(info, Tag.SEQUENCE, 'PolicyInformation'));
    if (!policy || extra) derError('PolicyInformation must hold an OID and optional qualifiers');
    readOid(policy);
    if (qualifiers) {
      const list = children(expectTag(qualifiers, Tag.SEQUENCE, 'policyQualifiers'));
      if (list.length === 0) derError('empty policyQualifiers');
      for (const qualifier of list) {
        const parts = children(expectTag(qualifier, Tag.SEQUENCE, 'PolicyQualifierInfo'));
        if (parts.length !== 2) derError('PolicyQualifierInfo must hold an OID and a qualifier');
        readOid(parts[0]!);
      }
    }
  }
}

/** authorityInfoAccess / subjectInfoAccess (4.2.2.1): AccessDescription { OID, GeneralName }. */
function checkInfoAccess(value: Uint8Array): void {
  for (const description of sequenceOf(value, 'InfoAccessSyntax')) {
    const parts = children(expectTag(description, Tag.SEQUENCE, 'AccessDescription'));
    if (parts.length !== 2) derError('AccessDescription must hold a method and a location');
    readOid(parts[0]!);
    checkGeneralName(parts[1]!);
  }
}

/** cRLDistributionPoints (4.2.1.13): DistributionPoint { [0] name, [1] reasons, [2] cRLIssuer }. */
function checkDistributionPoints(value: Uint8Array): void {
  for (const point of sequenceOf(value, 'CRLDistributionPoints')) {
    let last = -1;
    const fields = children(expectTag(point, Tag.SEQUENCE, 'DistributionPoint'));
    if (fields.length === 0) derError('empty DistributionPoint');
    for (const field of fields) {
      const index = field.tag === 0xa0 ? 0 : field.tag === 0x81 ? 1 : field.tag === 0xa2 ? 2 : -1;
      if (index <= last) derError('DistributionPoint fields unknown, repeated or out of order');
      last = index;
      if (index === 0) {
        const names = children(field);
        if (names.length !== 1) derError('DistributionPointName must hold one choice');
        const name = names[0]!;
        if (name.tag === 0xa0) checkGeneralNames(name);
        else if (name.tag !== 0xa1) derError('unknown DistributionPointName choice');
      } else if (index === 1) readBitString({ ...field, tag: Tag.BIT_STRING });
      else checkGeneralNames(field);
    }
  }
}

/** policyConstraints (4.2.1.11): [0] and/or [1] SkipCerts INTEGER. */
function checkPolicyConstraints(value: Uint8Array): void {
  let last = -1;
  const fields = sequenceOf(value, 'PolicyConstraints');
  for (const field of fields) {
    const index = field.tag === 0x80 ? 0 : field.tag === 0x81 ? 1 : -1;
    if (index <= last) derError('PolicyConstraints fields unknown, repeated or out of order');
    last = index;
    readSmallInteger({ ...field, tag: Tag.INTEGER });
  }
}

/** policyMappings (4.2.1.5): SEQUENCE OF { issuerDomainPolicy OID, subjectDomainPolicy OID }. */
function checkPolicyMappings(value: Uint8Array): void {
  for (const mapping of sequenceOf(value, 'PolicyMappings')) {
    const parts = children(expectTag(mapping, Tag.SEQUENCE, 'PolicyMapping'));
    if (parts.length !== 2) derError('PolicyMapping must hold two OIDs');
    readOid(parts[0]!);
    readOid(parts[1]!);
  }
}

const CHECKS: ReadonlyMap<string, (value: Uint8Array) => void> = new Map([
  [OID.nameConstraints, checkNameConstraints],
  [OID.certificatePolicies, checkCertificatePolicies],
  [OID.authorityInfoAccess, checkInfoAccess],
  [EXTENSION.subjectInfoAccess, checkInfoAccess],
  [EXTENSION.cRLDistributionPoints, checkDistributionPoints],
  [EXTENSION.issuerAltName, (value: Uint8Array) => checkGeneralNames(parseDer(value))],
  [EXTENSION.policyConstraints, checkPolicyConstraints],
  [EXTENSION.policyMappings, checkPolicyMappings],
  [EXTENSION.inhibitAnyPolicy, (value: Uint8Array) => void readSmallInteger(parseDer(value))],
]);

/** Checks the shape of an extension certloop does not decode but OpenSSL does; others pass unchecked. */
export function checkExtensionStructure(oid: string, value: Uint8Array): void {
  CHECKS.get(oid)?.(value);
}
