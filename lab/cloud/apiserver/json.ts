// JSON values and Kubernetes objects as the lab API server parses, stores and serves them.
// Request bodies enter as `unknown` and are narrowed (isObject); once admitted they are KubeObjects.

export type Json = null | boolean | number | string | Json[] | JsonObject;

/** A JSON object; a key may be present but undefined (dropped when serialized). */
export interface JsonObject {
  [k: string]: Json | undefined;
}

export const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface OwnerReference extends JsonObject {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta extends JsonObject {
  name?: string;
  generateName?: string;
  namespace?: string;
  selfLink?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

/** Any Kubernetes object: type meta, object meta, and the kind's own fields. */
export interface KubeObject extends JsonObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** An object past checkTypeMeta: its metadata is an object. */
export interface AdmittedObject extends KubeObject {
  metadata: ObjectMeta;
}

/** An object as the store keeps it: it always has metadata and a name. */
export interface StoredObject extends AdmittedObject {
  metadata: ObjectMeta & { name: string };
}

/** `v` when it is a JSON object, else an empty one: for reads, `asObject(v).k` is what `v?.k` gives for any JSON value. */
export const asObject = (v: unknown): JsonObject => (isObject(v) ? v : {});
