import { createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/**
 * A test stand-in for Apple's signing PKI: a P-256 root CA, an intermediate CA carrying Apple's
 * marker OID 1.2.840.113635.100.6.2.1 and a leaf carrying 1.2.840.113635.100.6.11.1, which is
 * what SignedDataVerifier demands of an App Store chain.
 *
 * node-forge builds and signs RSA certificates only (its pki has no ECDSA), and no X.509 builder
 * for EC keys is installed: the certificates are DER written with node-forge's ASN.1 module and
 * signed with node's ECDSA (ecdsa-with-SHA256), then read back with crypto.X509Certificate.
 */

export interface TestApplePki {
  /** The root, as an account's `rootCertificates` entry. */
  rootCertificatePem: string;
  /** The JWS `x5c` header: leaf, intermediate, root, standard base64 DER. */
  x5c: [string, string, string];
  /** The leaf's key: what signs transactions and notifications. */
  signingKey: KeyObject;
}

export interface TestApplePkiOptions {
  /** Distinguishes the subjects of several test PKIs. */
  name?: string;
  /** False leaves out Apple's marker OIDs (a chain any CA could issue). */
  appleMarkers?: boolean;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  appleIntermediateMarker: '1.2.840.113635.100.6.2.1',
  appleReceiptSigningMarker: '1.2.840.113635.100.6.11.1',
};

/** Valid from 30 days back: Apple resends a notification for days, and the library checks dates against its signedDate. */
const DAY = 86_400_000;

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;
const derBytes = (node: forge.asn1.Asn1) => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
const fromDer = (der: Buffer) => asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
const seq = (...items: forge.asn1.Asn1[]) => asn1.create(U, T.SEQUENCE, true, items);
const oid = (dotted: string) => asn1.create(U, T.OID, false, asn1.oidToDer(dotted).getBytes());
const octets = (bytes: Buffer) => asn1.create(U, T.OCTETSTRING, false, bytes.toString('binary'));
const bits = (bytes: Buffer) => asn1.create(U, T.BITSTRING, false, `\x00${bytes.toString('binary')}`);

function name(commonName: string, organization: string) {
  const attribute = (type: string, value: string) =>
    asn1.create(U, T.SET, true, [seq(oid(type), asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(value)))]);
  return seq(attribute(OID.commonName, commonName), attribute(OID.organization, organization));
}

function extension(id: string, critical: boolean, value: forge.asn1.Asn1) {
  return seq(oid(id), ...(critical ? [asn1.create(U, T.BOOLEAN, false, '\xff')] : []), octets(derBytes(value)));
}

interface Issued {
  der: Buffer;
  key: KeyObject;
  subject: forge.asn1.Asn1;
}

function issue(subject: forge.asn1.Asn1, options: { ca: boolean; marker?: string; issuer?: Issued }): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuer = options.issuer ?? { key: privateKey, subject };
  const serial = randomBytes(12);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero
  const now = Date.now();
  const keyUsage = options.ca ? Buffer.from([0x01, 0x06]) : Buffer.from([0x07, 0x80]); // keyCertSign|cRLSign : digitalSignature
  const extensions = [
    extension(OID.basicConstraints, true, options.ca ? seq(asn1.create(U, T.BOOLEAN, false, '\xff')) : seq()),
    extension(OID.keyUsage, true, asn1.create(U, T.BITSTRING, false, keyUsage.toString('binary'))),
    ...(options.marker ? [extension(options.marker, false, asn1.create(U, T.NULL, false, ''))] : []),
  ];
  const tbs = seq(
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(U, T.INTEGER, false, '\x02')]),
    asn1.create(U, T.INTEGER, false, serial.toString('binary')),
    seq(oid(OID.ecdsaWithSha256)),
    issuer.subject,
    seq(
      asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(new Date(now - 30 * DAY))),
      asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(new Date(now + 365 * DAY))),
    ),
    subject,
    fromDer(publicKey.export({ type: 'spki', format: 'der' })),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(...extensions)]),
  );
  const tbsDer = derBytes(tbs);
  const signature = sign('sha256', tbsDer, issuer.key); // DER-encoded ECDSA, as X.509 wants
  const der = derBytes(seq(fromDer(tbsDer), seq(oid(OID.ecdsaWithSha256)), bits(signature)));
  return { der, key: privateKey, subject };
}

export function createTestApplePki({ name: label = 'Test', appleMarkers = true }: TestApplePkiOptions = {}): TestApplePki {
  const root = issue(name(`${label} Apple Root CA - G3`, `${label} Apple Inc.`), { ca: true });
  const intermediate = issue(name(`${label} Apple Worldwide Developer Relations CA - G6`, `${label} Apple Inc.`), {
    ca: true,
    issuer: root,
    ...(appleMarkers && { marker: OID.appleIntermediateMarker }),
  });
  const leaf = issue(name(`${label} Prod ECC Mac App Store and iTunes Store Receipt Signing`, `${label} Apple Inc.`), {
    ca: false,
    issuer: intermediate,
    ...(appleMarkers && { marker: OID.appleReceiptSigningMarker }),
  });
  // Read back by node, as the library will: a certificate node cannot parse or verify fails here, not in a test.
  const [rootCert, intermediateCert, leafCert] = [root, intermediate, leaf].map((c) => new X509Certificate(c.der)) as [
    X509Certificate,
    X509Certificate,
    X509Certificate,
  ];
  if (!intermediateCert.verify(rootCert.publicKey) || !leafCert.verify(intermediateCert.publicKey) || !intermediateCert.ca) {
    throw new Error('test PKI: the generated chain does not verify');
  }
  if (!leafCert.publicKey.equals(createPublicKey(leaf.key))) throw new Error('test PKI: leaf key mismatch');
  return {
    rootCertificatePem: rootCert.toString(),
    x5c: [leaf.der.toString('base64'), intermediate.der.toString('base64'), root.der.toString('base64')],
    signingKey: leaf.key,
  };
}
