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
  eachTaggedField,
  expectTag,
  parseDer,
  readBitString,
  readOid,
  readSmallInteger,
  Tag,
} from './der.js';
import { checkGeneralName, decodeGeneralNames } from './general-names.js';
import { readNameConstraintsStructure } from './name-constraints.js';
import { OID } from './oids.js';

const EXTENSION = {
  issuerAltName: '2.5.29.18',
  cRLDistributionPoints: '2.5.29.31',
  policyMappings: '2.5.29.33',
  policyConstraints: '2.5.29.36',
  inhibitAnyPolicy: '2.5.29.54',
  subjectInfoAccess: '1.3.6.1.5.5.7.1.11',
} as const;

/** A SEQUENCE OF GeneralName under an implicit context tag (or a plain SEQUENCE). */
function checkGeneralNames(node: DerNode): void {
  decodeGeneralNames({ ...node, tag: Tag.SEQUENCE });
}

function sequenceOf(value: Uint8Array, what: string, minimum = 1): DerNode[] {
  const list = children(expectTag(parseDer(value), Tag.SEQUENCE, what));
  if (list.length < minimum) derError(`empty ${what}`);
  return list;
}

/** NameConstraints (4.2.1.10): the shape OpenSSL decodes (see readNameConstraintsStructure). */
function checkNameConstraints(value: Uint8Array): void {
  readNameConstraintsStructure(value);
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
    const fields = children(expectTag(point, Tag.SEQUENCE, 'DistributionPoint'));
    if (fields.length === 0) derError('empty DistributionPoint');
    eachTaggedField(fields, [0xa0, 0x81, 0xa2], 'DistributionPoint fields', (field, index) => {
      if (index === 0) {
        const names = children(field);
        if (names.length !== 1) derError('DistributionPointName must hold one choice');
        const name = names[0]!;
        if (name.tag === 0xa0) checkGeneralNames(name);
        else if (name.tag !== 0xa1) derError('unknown DistributionPointName choice');
      } else if (index === 1) readBitString({ ...field, tag: Tag.BIT_STRING });
      else checkGeneralNames(field);
    });
  }
}

/** policyConstraints (4.2.1.11): [0] and/or [1] SkipCerts INTEGER. */
function checkPolicyConstraints(value: Uint8Array): void {
  eachTaggedField(sequenceOf(value, 'PolicyConstraints'), [0x80, 0x81], 'PolicyConstraints fields', (field) => {
    readSmallInteger({ ...field, tag: Tag.INTEGER });
  });
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
