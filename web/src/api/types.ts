// The HTTP contract, under the names the dashboard uses. Every type here comes from
// schema.d.ts, which `make web-types` generates from the service's OpenAPI document
// (never edit it by hand; `make test` fails when it drifts from the service).
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Me = Schemas["Me"];
export type ClientList = Schemas["ClientList"];
export type LogItem = Schemas["LogSummary"];
export type LogDetail = Schemas["LogDetail"];
export type LogPage = Schemas["LogPage"];
export type Overview = Schemas["Overview"];
export type Categories = Schemas["Categories"];
export type CategoryRow = Schemas["CategoryStats"];
export type ProblemField = Schemas["FieldErrorOut"];
export type ApiKeyInfo = Schemas["ApiKeyInfo"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type KeyCreate = Schemas["KeyCreate"];
export type KeyList = Schemas["KeyList"];
export type KeyRotated = Schemas["KeyRotated"];
export type OwnKeys = Schemas["OwnKeys"];
export type AuditEvent = Schemas["AuditEvent"];
export type AuditPage = Schemas["AuditPage"];
export type Retention = Schemas["RetentionPolicy"];
export type AlertRule = Schemas["AlertRule"];
export type AlertRuleCreate = Schemas["AlertRuleCreate"];
export type AlertRuleList = Schemas["AlertRuleList"];
export type AlertChannel = Schemas["AlertChannel"];
export type AlertChannelCreate = Schemas["AlertChannelCreate"];
export type AlertChannelCreated = Schemas["AlertChannelCreated"];
export type AlertChannelList = Schemas["AlertChannelList"];
export type FiringAlert = Schemas["FiringAlert"];
export type FiringAlertList = Schemas["FiringAlertList"];
export type AlertEvent = Schemas["AlertEvent"];
export type AlertEventList = Schemas["AlertEventList"];
export type Delivery = Schemas["Delivery"];
export type DeliveryList = Schemas["DeliveryList"];

// Any JSON value: what the viewers walk (the contract types `metrics` and `payload`
// as objects of unknown values; a JSON response holds nothing else).
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Versions = Schemas["Versions"];
export type VersionStats = Schemas["VersionStats"];
export type Trends = Schemas["Trends"];
export type Anomalies = Schemas["Anomalies"];
export type AnomalyRow = Schemas["AnomalyRead"];
export type Patterns = Schemas["Patterns"];
export type PatternRow = Schemas["PatternRead"];
