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
export type MFAEnrollmentRequired = S['MFAEnrollmentRequired'];
export type MFAEnrollmentNotice = S['MFAEnrollmentNotice'];
export type RequiringOrganization = S['RequiringOrganization'];
export type TOTPEnrollment = S['TOTPEnrollment'];
export type EnrolledTokenPair = S['EnrolledTokenPair'];
export type MFAStatus = S['MFAStatus'];
export type RecoveryCodes = S['RecoveryCodes'];
export type RemoveTOTPRequest = S['RemoveTOTPRequest'];
export type MFAPolicy = S['MFAPolicy'];
export type MFAPolicyRequest = S['MFAPolicyRequest'];
export type VerifyEmailRequest = S['VerifyEmailRequest'];
export type EmailVerification = S['EmailVerification'];
export type EmailRequest = S['EmailRequest'];
export type Accepted = S['Accepted'];
export type PasswordResetRequest = S['PasswordResetRequest'];

export type Organization = S['Organization'];
export type CreateOrganizationRequest = S['CreateOrganizationRequest'];
export type PlanRequest = S['PlanRequest'];
export type OrganizationPlan = S['Plan'];
export type Member = S['Member'];
export type AuditEvent = S['AuditEvent'];
export type AuditEventType = S['AuditEventType'];
export type AddMemberRequest = S['AddMemberRequest'];
export type UpdateMemberRequest = S['UpdateMemberRequest'];
export type Connection = S['Connection'];
export type Invitation = S['Invitation'];
export type CreateInvitationRequest = S['CreateInvitationRequest'];
export type AcceptInvitationRequest = S['AcceptInvitationRequest'];
export type ChangePasswordRequest = S['ChangePasswordRequest'];
export type ChangeEmailRequest = S['ChangeEmailRequest'];
export type EmailChange = S['EmailChange'];
export type CreateConnectionRequest = S['CreateConnectionRequest'];
export type UpdateConnectionRequest = S['UpdateConnectionRequest'];

export type Me = S['Me'];
export type UserState = S['UserState'];
export type DeleteMeRequest = S['DeleteMeRequest'];
export type Consent = S['Consent'];

export type APIKey = S['APIKey'];
export type CreatedAPIKey = S['CreatedAPIKey'];
export type APIKeyRequest = S['APIKeyRequest'];
/** The body of both rotations: how long the old credential keeps working ("24h" by default, at most "168h", "0s" at once). */
export type RotateRequest = S['RotateRequest'];
export type RotatedAPIKey = S['RotatedAPIKey'];
export type RotatedServiceAccountSecret = S['RotatedServiceAccountSecret'];

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
