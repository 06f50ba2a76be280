/**
 * zod schemas of MLflow's REST responses (mlflow/protos/service.proto, model_registry.proto, as
 * the server's JSON conversion writes them): fields that are unset are absent, so nearly all are
 * optional; int64 fields arrive as numbers (a string is accepted too, as protobuf's JSON allows).
 * Unknown fields are dropped, so a newer server's additions do not break the client.
 */
import { z } from 'zod';

const int64 = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
]);
const kv = z.object({ key: z.string(), value: z.string().nullish() });

export const ExperimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().nullish(),
  lifecycle_stage: z.string().nullish(),
  tags: z.array(kv).nullish(),
});
export type Experiment = z.infer<typeof ExperimentSchema>;

export const RunInfoSchema = z.object({
  run_id: z.string(),
  experiment_id: z.string(),
  run_name: z.string().nullish(),
  status: z.string().nullish(),
  start_time: int64.nullish(),
  end_time: int64.nullish(),
  artifact_uri: z.string().nullish(),
  lifecycle_stage: z.string().nullish(),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

export const MetricSchema = z.object({ key: z.string(), value: z.number(), timestamp: int64.nullish(), step: int64.nullish() });
export type Metric = z.infer<typeof MetricSchema>;

export const RunSchema = z.object({
  info: RunInfoSchema,
  data: z.object({ metrics: z.array(MetricSchema).nullish(), params: z.array(kv).nullish(), tags: z.array(kv).nullish() }).nullish(),
});
export type Run = z.infer<typeof RunSchema>;

export const ModelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  source: z.string().nullish(),
  run_id: z.string().nullish(),
  status: z.string().nullish(),
  status_message: z.string().nullish(),
  description: z.string().nullish(),
  creation_timestamp: int64.nullish(),
  last_updated_timestamp: int64.nullish(),
  tags: z.array(kv).nullish(),
  aliases: z.array(z.string()).nullish(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const RegisteredModelSchema = z.object({
  name: z.string(),
  description: z.string().nullish(),
  creation_timestamp: int64.nullish(),
  last_updated_timestamp: int64.nullish(),
  latest_versions: z.array(ModelVersionSchema).nullish(),
  tags: z.array(kv).nullish(),
  aliases: z.array(z.object({ alias: z.string(), version: z.string() })).nullish(),
});
export type RegisteredModel = z.infer<typeof RegisteredModelSchema>;

export const FileInfoSchema = z.object({ path: z.string(), is_dir: z.boolean().nullish(), file_size: int64.nullish() });

const page = { next_page_token: z.string().nullish() };
export const Responses = {
  empty: z.object({}),
  createExperiment: z.object({ experiment_id: z.string() }),
  experiment: z.object({ experiment: ExperimentSchema }),
  searchExperiments: z.object({ experiments: z.array(ExperimentSchema).nullish(), ...page }),
  run: z.object({ run: RunSchema }),
  updateRun: z.object({ run_info: RunInfoSchema.nullish() }),
  searchRuns: z.object({ runs: z.array(RunSchema).nullish(), ...page }),
  metricHistory: z.object({ metrics: z.array(MetricSchema).nullish(), ...page }),
  listArtifacts: z.object({ root_uri: z.string().nullish(), files: z.array(FileInfoSchema).nullish(), ...page }),
  registeredModel: z.object({ registered_model: RegisteredModelSchema }),
  searchRegisteredModels: z.object({ registered_models: z.array(RegisteredModelSchema).nullish(), ...page }),
  modelVersion: z.object({ model_version: ModelVersionSchema }),
  searchModelVersions: z.object({ model_versions: z.array(ModelVersionSchema).nullish(), ...page }),
  downloadUri: z.object({ artifact_uri: z.string() }),
} as const;

/** MLflow's error body (mlflow/server/handlers.py, MlflowException.serialize_as_json). */
export const ErrorBodySchema = z.object({ error_code: z.string(), message: z.string().nullish() });
