// Validation of the parts of an object every kind shares: name, labels,
// annotations, finalizers and ownerReferences, worded like the API server.
// It must never validate kind-specific fields.
import { fieldInvalid, fieldRequired, fieldTypeInvalid } from './errors.ts';
import type { FieldError } from './errors.ts';
import type { ObjectMeta } from '../store/object.ts';
import { isPlainObject } from '../store/object.ts';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** isDnsSubdomain tells whether a string is a valid RFC 1123 subdomain (most object names). */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && SUBDOMAIN.test(s);
}

/** isDnsLabel tells whether a string is a valid RFC 1123 label (namespace names, hostnames). */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && LABEL.test(s);
}

/** validateName checks metadata.name by the kind's rule. */
export function validateName(name: string, rule: NameRule, field = 'metadata.name'): FieldError[] {
  switch (rule) {
    case 'subdomain':
      if (name.length > 253) return [fieldInvalid(field, name, 'must be no more than 253 characters')];
      return SUBDOMAIN.test(name) ? [] : [fieldInvalid(field, name, SUBDOMAIN_MSG)];
    case 'label':
      if (name.length > 63) return [fieldInvalid(field, name, 'must be no more than 63 characters')];
      return LABEL.test(name) ? [] : [fieldInvalid(field, name, LABEL_MSG)];
    case 'dns1035':
      if (name.length > 63) return [fieldInvalid(field, name, 'must be no more than 63 characters')];
      return DNS1035.test(name) ? [] : [fieldInvalid(field, name, DNS1035_MSG)];
    case 'path':
      if (name === '.' || name === '..' || name.includes('/') || name.includes('%')) {
        return [fieldInvalid(field, name, 'may not contain "/" or "%" and may not be "." or ".."')];
      }
      return [];
  }
}

function validateQualifiedName(key: string, field: string): FieldError[] {
  const parts = key.split('/');
  if (parts.length > 2) return [fieldInvalid(field, key, "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'")];
  const [prefix, name] = parts.length === 2 ? parts : ['', parts[0]];
  const errors: FieldError[] = [];
  if (parts.length === 2 && (prefix === '' || !isDnsSubdomain(prefix))) errors.push(fieldInvalid(field, key, `prefix part ${SUBDOMAIN_MSG}`));
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    errors.push(fieldInvalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') and be no more than 63 characters"));
  }
  return errors;
}

/** validateObjectMeta checks the shared metadata of an object. */
export function validateObjectMeta(meta: ObjectMeta, rule: NameRule): FieldError[] {
  const errors: FieldError[] = [];
  if (!meta.name) errors.push(fieldRequired('metadata.name', 'name or generateName is required'));
  else errors.push(...validateName(meta.name, rule));
  if (meta.labels !== undefined) {
    if (!isPlainObject(meta.labels)) errors.push(fieldTypeInvalid('metadata.labels', meta.labels, 'must be a map of strings'));
    else {
      for (const [k, v] of Object.entries(meta.labels)) {
        errors.push(...validateQualifiedName(k, 'metadata.labels'));
        if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
          errors.push(fieldInvalid('metadata.labels', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
        }
      }
    }
  }
  if (meta.annotations !== undefined) {
    if (!isPlainObject(meta.annotations)) errors.push(fieldTypeInvalid('metadata.annotations', meta.annotations, 'must be a map of strings'));
    else {
      let size = 0;
      for (const [k, v] of Object.entries(meta.annotations)) {
        errors.push(...validateQualifiedName(k.toLowerCase(), 'metadata.annotations'));
        if (typeof v !== 'string') errors.push(fieldTypeInvalid(`metadata.annotations`, v, 'annotation values must be strings'));
        size += k.length + String(v).length;
      }
      if (size > 256 * 1024) errors.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', message: 'Too long: must have at most 262144 bytes' });
    }
  }
  for (const [i, f] of (meta.finalizers ?? []).entries()) {
    if (typeof f !== 'string') errors.push(fieldTypeInvalid(`metadata.finalizers[${i}]`, f, 'must be a string'));
    else errors.push(...validateQualifiedName(f, `metadata.finalizers[${i}]`));
  }
  let controllers = 0;
  for (const [i, ref] of (meta.ownerReferences ?? []).entries()) {
    const at = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion) errors.push(fieldInvalid(`${at}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errors.push(fieldInvalid(`${at}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errors.push(fieldInvalid(`${at}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errors.push(fieldInvalid(`${at}.uid`, ref.uid ?? '', 'uid must not be empty'));
    if (ref.controller === true) controllers++;
  }
  if (controllers > 1) errors.push(fieldInvalid('metadata.ownerReferences', meta.ownerReferences, 'Only one reference can have Controller set to true'));
  return errors;
}
