// A server certificate a connection test could not accept: what it is
// (subject, issuer, validity, names, fingerprint) and the fix that fits the
// problem — add the organisation's CA certificate for an unknown issuer
// (it survives certificate renewals), or trust this exact certificate (a
// pin, for a self-signed server). Shared by the Connection card and the
// form's own test. Expired or wrong-host certificates get the details
// only: nothing on this computer can safely fix those.

import { h } from './dom.js';

/** The failure of a TLS stage with a certificate, if the test had one. */
export function certificateFailure(report) {
  if (!report?.certificate) return null;
  return report.stages.find((stage) => stage.failure && (stage.failure.kind === 'tls_untrusted' || stage.failure.kind === 'tls'))?.failure ?? null;
}

function day(text) {
  return (text ?? '').slice(0, 10);
}

/** The certificate as a small definition list. */
export function certificateDetails(certificate, testid) {
  const rows = [
    ['Issued to', certificate.subject],
    ['Issued by', certificate.issuer],
    ['Valid', `${day(certificate.not_before)} to ${day(certificate.not_after)}`],
  ];
  if (certificate.names?.length) rows.push(['Names', certificate.names.join(', ')]);
  return h('dl', { class: 'certificate-details', 'data-testid': testid },
    ...rows.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', { class: 'selectable' }, value))),
    h('div', {}, h('dt', {}, 'SHA-256'), h('dd', { class: 'fingerprint selectable' }, certificate.sha256)));
}

/**
 * The offer under a failed test: the certificate and buttons for the fixes.
 * `onAddCa` (null: not offered) and `onTrust` (null: explain "save first").
 */
export function certificateOffer(report, { prefix, onAddCa, onTrust }) {
  const failure = certificateFailure(report);
  if (!failure) return null;
  const certificate = report.certificate;
  const untrusted = failure.kind === 'tls_untrusted';
  let text;
  if (failure.reason === 'unknown_issuer') {
    text = `If “${certificate.issuer}” is your organisation's authority (a company gateway, or a proxy that inspects TLS), add its CA certificate: that keeps working when the server's certificate is renewed. Trusting this exact certificate also works, until it is renewed.`;
  } else if (untrusted) {
    text = 'The server presented a self-signed certificate. If you set up this server yourself, compare the fingerprint with the server\'s and trust this exact certificate for this provider only.';
  } else {
    text = 'The server\'s certificate:';
  }
  const buttons = [];
  if (untrusted && failure.reason === 'unknown_issuer' && onAddCa) {
    buttons.push(h('button', {
      type: 'button', class: 'button button-small button-primary', 'data-testid': `${prefix}add-ca`, onclick: onAddCa,
    }, 'Add CA certificate…'));
  }
  if (untrusted && onTrust) {
    buttons.push(h('button', {
      type: 'button', class: 'button button-small', 'data-testid': `${prefix}trust-certificate`,
      onclick: () => onTrust(certificate.sha256),
    }, 'Trust this certificate'));
  }
  const note = untrusted && !onTrust
    ? h('p', { class: 'help' }, 'To trust this exact certificate instead, save the provider first; then use its Connection card.')
    : null;
  return h('div', { class: 'offer offer-certificate', 'data-testid': `${prefix}offer-certificate` },
    h('div', { class: 'offer-body' },
      h('p', {}, text),
      certificateDetails(certificate, `${prefix}certificate-details`),
      note),
    buttons.length ? h('div', { class: 'offer-actions' }, ...buttons) : null);
}

/** Reads a chosen certificate file: PEM text as is, DER wrapped as PEM. */
export async function readCertificateFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('-----BEGIN')) return text;
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const base64 = btoa(binary).replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}
