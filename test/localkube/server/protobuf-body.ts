// Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`):
// client-go 1.35 typed clients (helm 4's release storage) send built-in
// objects this way. Decodes the `k8s\0` envelope (runtime.Unknown) and the few
// messages such clients write here — Secret, ConfigMap, DeleteOptions — into
// the JSON form the api layer takes (also Namespace and ServiceAccount, which
// `kubectl create namespace|serviceaccount` send). Field numbers are those of the
// Kubernetes generated.proto files (facts of the wire format).
// It must never guess: any other kind is a 415 that says which kinds decode.
import protobuf from 'protobufjs';
import { ApiError, badRequest } from '../api/errors.ts';
import type { JsonObject } from '../store/object.ts';

/** PROTOBUF_MEDIA_TYPE is the content type client-go sends protobuf bodies with. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** MAGIC starts every Kubernetes protobuf body ("k8s" and a zero byte). */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const SCHEMA = `
syntax = "proto2";
package lk;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message FieldsV1 { optional bytes Raw = 1; }
message ManagedFieldsEntry {
  optional string manager = 1; optional string operation = 2; optional string apiVersion = 3; optional Time time = 4;
  optional string fieldsType = 6; optional FieldsV1 fieldsV1 = 7; optional string subresource = 8;
}
message OwnerReference {
  optional string kind = 1; optional string name = 3; optional string uid = 4; optional string apiVersion = 5;
  optional bool controller = 6; optional bool blockOwnerDeletion = 7;
}
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3; optional string selfLink = 4;
  optional string uid = 5; optional string resourceVersion = 6; optional int64 generation = 7;
  optional Time creationTimestamp = 8; optional Time deletionTimestamp = 9; optional int64 deletionGracePeriodSeconds = 10;
  map<string, string> labels = 11; map<string, string> annotations = 12; repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14; repeated ManagedFieldsEntry managedFields = 17;
}
message Secret { optional ObjectMeta metadata = 1; map<string, bytes> data = 2; optional string type = 3; map<string, string> stringData = 4; optional bool immutable = 5; }
message ConfigMap { optional ObjectMeta metadata = 1; map<string, string> data = 2; map<string, bytes> binaryData = 3; optional bool immutable = 4; }
message ObjectReference {
  optional string kind = 1; optional string namespace = 2; optional string name = 3; optional string uid = 4;
  optional string apiVersion = 5; optional string resourceVersion = 6; optional string fieldPath = 7;
}
message LocalObjectReference { optional string name = 1; }
message ServiceAccount {
  optional ObjectMeta metadata = 1; repeated ObjectReference secrets = 2; repeated LocalObjectReference imagePullSecrets = 3;
  optional bool automountServiceAccountToken = 4;
}
message NamespaceSpec { repeated string finalizers = 1; }
message Namespace { optional ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; }
message Preconditions { optional string uid = 1; optional string resourceVersion = 2; }
message DeleteOptions {
  optional int64 gracePeriodSeconds = 1; optional Preconditions preconditions = 2; optional bool orphanDependents = 3;
  optional string propagationPolicy = 4; repeated string dryRun = 5; optional bool ignoreStoreReadErrorWithClusterBreakingPotential = 6;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const unknownType = root.lookupType('lk.Unknown');

/** MESSAGES maps "apiVersion/kind" of the kinds that decode to their message. */
const MESSAGES: Record<string, protobuf.Type> = {
  'v1/Secret': root.lookupType('lk.Secret'),
  'v1/ConfigMap': root.lookupType('lk.ConfigMap'),
  'v1/ServiceAccount': root.lookupType('lk.ServiceAccount'),
  'v1/Namespace': root.lookupType('lk.Namespace'),
  // client-go encodes DeleteOptions of every group as meta.k8s.io/v1 (older ones as v1).
  'meta.k8s.io/v1/DeleteOptions': root.lookupType('lk.DeleteOptions'),
  'v1/DeleteOptions': root.lookupType('lk.DeleteOptions'),
};

/** isProtobufBody tells whether a request carries a Kubernetes protobuf body. */
export function isProtobufBody(contentType: string | undefined, body: Buffer): boolean {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return media === PROTOBUF_MEDIA_TYPE || (body.length >= 4 && body.subarray(0, 4).equals(MAGIC));
}

/** rfc3339 renders a metav1.Time; Go's zero time (what clients send for "unset") is undefined. */
function rfc3339(t: JsonObject | undefined): string | undefined {
  if (!t || (!t.seconds && !t.nanos)) return undefined;
  const ms = Number(t.seconds ?? 0) * 1000;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** jsonMeta turns a decoded ObjectMeta into its JSON form (times as RFC 3339, fieldsV1 as JSON). */
function jsonMeta(meta: JsonObject): JsonObject {
  const out: JsonObject = { ...meta };
  for (const f of ['creationTimestamp', 'deletionTimestamp']) {
    if (out[f] !== undefined) out[f] = rfc3339(out[f]);
  }
  // Go writes zero values on the wire (empty strings, generation 0, zero
  // times); its JSON form omits them, and so does this one.
  for (const [k, v] of Object.entries(out)) if (v === '' || v === undefined || (k === 'generation' && v === 0)) delete out[k];
  if (Array.isArray(out.managedFields)) {
    out.managedFields = out.managedFields.map((m: JsonObject) => {
      const entry: JsonObject = { ...m, time: rfc3339(m.time) };
      const raw = m.fieldsV1?.Raw;
      if (typeof raw === 'string') {
        try {
          entry.fieldsV1 = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
        } catch {
          throw badRequest('managedFields[].fieldsV1 is not JSON');
        }
      }
      if (entry.time === undefined) delete entry.time;
      return entry;
    });
  }
  return out;
}

/**
 * decodeProtobufBody decodes a Kubernetes protobuf request body into the JSON
 * object a client would have sent (apiVersion, kind, then the message's fields;
 * bytes as base64, times as RFC 3339).
 */
export function decodeProtobufBody(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw badRequest('the protobuf body does not start with the Kubernetes magic prefix "k8s\\x00"');
  }
  let envelope: { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array; contentEncoding?: string };
  try {
    envelope = unknownType.decode(body.subarray(4)) as unknown as typeof envelope;
  } catch (err) {
    throw badRequest(`cannot decode the protobuf envelope: ${(err as Error).message}`);
  }
  const apiVersion: string = envelope.typeMeta?.apiVersion ?? '';
  const kind: string = envelope.typeMeta?.kind ?? '';
  if (envelope.contentEncoding) throw badRequest(`protobuf content encoding ${JSON.stringify(envelope.contentEncoding)} is not supported`);
  const message = MESSAGES[`${apiVersion}/${kind}`];
  if (!message) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `localkube decodes protobuf bodies only for ${Object.keys(MESSAGES).join(', ')}; got ${apiVersion}/${kind}: send it as application/json`,
    );
  }
  const raw = envelope.raw ?? new Uint8Array(0);
  let decoded: JsonObject;
  try {
    decoded = message.toObject(message.decode(raw), { bytes: String, longs: Number, arrays: false, objects: false, defaults: false }) as JsonObject;
  } catch (err) {
    throw badRequest(`cannot decode ${kind} from protobuf: ${(err as Error).message}`);
  }
  const out: JsonObject = { apiVersion, kind };
  for (const [k, v] of Object.entries(decoded)) {
    if (k === 'metadata') out.metadata = jsonMeta(v as JsonObject);
    else if (v !== '') out[k] = v;
  }
  return out;
}
