import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * Test certificates shaped like UnionPay's: a root CA, a middle CA under it and UnionPay's signing
 * certificate under that (subject CN `<type>@<id>@中国银联股份有限公司@<seq>`), plus the wrong ones a
 * test needs (another CA's, expired, another company's). Keys come from node's crypto (fast), the
 * certificates from node-forge.
 */
export const UNIONPAY_TEST_SIGNING_CN = '041@Z12400000000000@中国银联股份有限公司@00000001';

export interface TestKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A signer as UnionPay signs: its key and the certificate it ships in `signPubKeyCert`. */
export interface UnionPaySigner {
  privateKeyPem: string;
  certificatePem: string;
}

interface Authority {
  key: TestKeyPair;
  certificate: forge.pki.Certificate;
  certificatePem: string;
}

const DAY_MS = 86_400_000;

export function newKeyPair(): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function issue(options: {
  commonName: string;
  key: TestKeyPair;
  issuer?: Authority;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
  serialHex?: string;
}): Authority {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(options.key.publicKeyPem);
  // A positive serial: a leading 0 nibble keeps the DER integer from reading as negative.
  certificate.serialNumber = options.serialHex ?? `0${randomBytes(8).toString('hex')}`;
  certificate.validity.notBefore = options.notBefore;
  certificate.validity.notAfter = options.notAfter;
  const subject = [
    { name: 'countryName', value: 'CN' },
    { name: 'organizationName', value: options.ca ? 'Test Certification Authority' : 'Test Signer' },
    { name: 'commonName', value: options.commonName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class },
  ];
  certificate.setSubject(subject);
  certificate.setIssuer(options.issuer ? options.issuer.certificate.subject.attributes : subject);
  certificate.setExtensions(
    options.ca
      ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]
      : [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, nonRepudiation: true }],
  );
  const signingKey = options.issuer?.key ?? options.key;
  certificate.sign(forge.pki.privateKeyFromPem(signingKey.privateKeyPem), forge.md.sha256.create());
  return { key: options.key, certificate, certificatePem: forge.pki.certificateToPem(certificate) };
}

export interface UnionPayTestChain {
  rootPem: string;
  middlePem: string;
  /** Issues a signing certificate under this chain's middle CA. */
  signer(options?: { commonName?: string; notBefore?: Date; notAfter?: Date }): UnionPaySigner;
}

/** A root CA and a middle CA under it, valid around `now`. */
export function newUnionPayChain(now = new Date(), name = 'Test UnionPay'): UnionPayTestChain {
  const validity = { notBefore: new Date(now.getTime() - 365 * DAY_MS), notAfter: new Date(now.getTime() + 3650 * DAY_MS) };
  const root = issue({ commonName: `${name} Root CA`, key: newKeyPair(), ca: true, ...validity });
  const middle = issue({ commonName: `${name} Middle CA`, key: newKeyPair(), issuer: root, ca: true, ...validity });
  return {
    rootPem: root.certificatePem,
    middlePem: middle.certificatePem,
    signer(options = {}) {
      const leaf = issue({
        commonName: options.commonName ?? UNIONPAY_TEST_SIGNING_CN,
        key: newKeyPair(),
        issuer: middle,
        ca: false,
        notBefore: options.notBefore ?? new Date(now.getTime() - 30 * DAY_MS),
        notAfter: options.notAfter ?? new Date(now.getTime() + 365 * DAY_MS),
      });
      return { privateKeyPem: leaf.key.privateKeyPem, certificatePem: leaf.certificatePem };
    },
  };
}

/**
 * A merchant's signing key and the id UnionPay knows it by (in production: the serial number, in
 * decimal, of the certificate CFCA issued for it; the fake only needs the pair).
 */
export function newMerchantSigningKey(): TestKeyPair & { certId: string } {
  return { ...newKeyPair(), certId: BigInt(`0x${randomBytes(8).toString('hex')}`).toString(10) };
}
