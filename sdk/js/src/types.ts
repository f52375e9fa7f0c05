// Request and response objects, named after the schemas of
// provider/rest/openapi.yaml. They are the wire format itself (snake_case
// fields), generated into ./generated/openapi.ts by `npm run generate`.
import type { components } from './generated/openapi.js';

type S = components['schemas'];

export type Role = S['Role'];
export type Plan = S['Organization']['plan'];
export type Health = S['Health'];
export type Principal = NonNullable<S['Health']['principal']>;

export type RegisterRequest = S['RegisterRequest'];
export type Registration = S['Registration'];
export type LoginRequest = S['LoginRequest'];
export type TokenPair = S['TokenPair'];
export type MFARequest = S['MFARequest'];
export type MFARequired = S['MFARequired'];

export type Organization = S['Organization'];
export type CreateOrganizationRequest = S['CreateOrganizationRequest'];
export type PlanRequest = S['PlanRequest'];
export type OrganizationPlan = S['Plan'];
export type Member = S['Member'];
export type AddMemberRequest = S['AddMemberRequest'];
export type UpdateMemberRequest = S['UpdateMemberRequest'];
export type Connection = S['Connection'];
export type CreateConnectionRequest = S['CreateConnectionRequest'];
export type UpdateConnectionRequest = S['UpdateConnectionRequest'];

export type Me = S['Me'];
export type UserState = S['UserState'];

export type APIKey = S['APIKey'];
export type CreatedAPIKey = S['CreatedAPIKey'];
export type APIKeyRequest = S['APIKeyRequest'];

export type ServiceAccount = S['ServiceAccount'];
export type CreatedServiceAccount = S['CreatedServiceAccount'];
export type CreateServiceAccountRequest = S['CreateServiceAccountRequest'];

export type Application = S['Application'];
/** The fields of POST and PATCH /api/v1/applications: on create omitted ones take defaults, on update they stay. */
export type ApplicationFields = S['ApplicationFields'];
export type CreateApplicationRequest = ApplicationFields & { name: string };
export type UpdateApplicationRequest = ApplicationFields;
export type RotatedSecret = S['RotatedSecret'];
export type Grant = S['Grant'];
