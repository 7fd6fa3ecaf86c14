/** Telegram's auth.SentCodeType / auth.CodeType classes → tgbridge CodeType. */
import { Api } from 'telegram';
import { CodeType } from '@tgbridge/proto/auth/v1/auth';

/** How the current code was delivered (auth.SentCodeType). */
export function sentCodeType(t: Api.auth.TypeSentCodeType): { type: CodeType; length: number } {
  const length = 'length' in t && typeof t.length === 'number' ? t.length : 0;
  if (t instanceof Api.auth.SentCodeTypeApp) return { type: CodeType.APP, length };
  if (t instanceof Api.auth.SentCodeTypeCall) return { type: CodeType.CALL, length };
  if (t instanceof Api.auth.SentCodeTypeFlashCall) return { type: CodeType.FLASH_CALL, length: 0 };
  if (t instanceof Api.auth.SentCodeTypeMissedCall) return { type: CodeType.MISSED_CALL, length };
  if (t instanceof Api.auth.SentCodeTypeEmailCode) return { type: CodeType.EMAIL, length };
  if (t instanceof Api.auth.SentCodeTypeFragmentSms) return { type: CodeType.FRAGMENT, length };
  return { type: CodeType.SMS, length };
}

/** How ResendCode will deliver the next code (auth.CodeType), UNSPECIFIED when none. */
export function nextCodeType(t: Api.auth.TypeCodeType | undefined): CodeType {
  if (!t) return CodeType.UNSPECIFIED;
  if (t instanceof Api.auth.CodeTypeSms) return CodeType.SMS;
  if (t instanceof Api.auth.CodeTypeCall) return CodeType.CALL;
  if (t instanceof Api.auth.CodeTypeFlashCall) return CodeType.FLASH_CALL;
  if (t instanceof Api.auth.CodeTypeMissedCall) return CodeType.MISSED_CALL;
  if (t instanceof Api.auth.CodeTypeFragmentSms) return CodeType.FRAGMENT;
  return CodeType.UNSPECIFIED;
}
