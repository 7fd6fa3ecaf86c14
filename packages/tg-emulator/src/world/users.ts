import type { PasswordRecord, UserRecord } from './types.js';
import { nowSeconds, randomLong } from './ids.js';

/** Input for {@link UserStore.create}. */
export interface NewUser {
  /** Phone number; `+`, spaces and dashes are stripped. */
  phone: string;
  firstName: string;
  lastName?: string;
  username?: string;
  /** Precomputed 2FA material (see api/srp.ts `makePasswordRecord`). */
  password?: PasswordRecord;
}

/** Thrown for bad input to world operations; the control API maps it to HTTP 400. */
export class WorldError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorldError';
  }
}

/** Normalizes a phone number to digits only. */
export function normalizePhone(phone: string): string {
  return phone.replace(/[\s+\-()]/g, '');
}

/** A plausible phone number: 5 to 15 digits. */
export function isValidPhone(phone: string): boolean {
  return /^\d{5,15}$/.test(phone);
}

/** Users of the emulated world, indexed by id, phone and username. */
export class UserStore {
  private readonly byId = new Map<number, UserRecord>();
  private readonly byPhone = new Map<string, number>();
  private readonly byUsername = new Map<string, number>();
  private nextId = 100_000_001;

  /** Creates a user. Throws {@link WorldError} `PHONE_NUMBER_OCCUPIED`, `USERNAME_OCCUPIED`, `PHONE_NUMBER_INVALID`, `USERNAME_INVALID`. */
  create(input: NewUser): UserRecord {
    const phone = normalizePhone(input.phone);
    if (!isValidPhone(phone))
      throw new WorldError('PHONE_NUMBER_INVALID', `invalid phone ${input.phone}`);
    if (this.byPhone.has(phone))
      throw new WorldError('PHONE_NUMBER_OCCUPIED', `phone ${phone} already registered`);
    if (!input.firstName || input.firstName.length > 64)
      throw new WorldError('FIRSTNAME_INVALID', 'first name must be 1..64 characters');
    if (input.username !== undefined) {
      if (!/^[a-zA-Z][a-zA-Z0-9_]{3,31}$/.test(input.username))
        throw new WorldError('USERNAME_INVALID', `invalid username ${input.username}`);
      if (this.byUsername.has(input.username.toLowerCase()))
        throw new WorldError('USERNAME_OCCUPIED', `username ${input.username} taken`);
    }
    const user: UserRecord = {
      id: this.nextId++,
      accessHash: randomLong(),
      phone,
      firstName: input.firstName,
      createdAt: nowSeconds(),
      contacts: [],
    };
    if (input.lastName) user.lastName = input.lastName;
    if (input.username) user.username = input.username;
    if (input.password) user.password = input.password;
    this.insert(user);
    return user;
  }

  private insert(user: UserRecord): void {
    this.byId.set(user.id, user);
    this.byPhone.set(user.phone, user.id);
    if (user.username) this.byUsername.set(user.username.toLowerCase(), user.id);
    if (user.id >= this.nextId) this.nextId = user.id + 1;
  }

  get(id: number): UserRecord | undefined {
    return this.byId.get(id);
  }

  /** Looks a user up by phone (any formatting). */
  byPhoneNumber(phone: string): UserRecord | undefined {
    const id = this.byPhone.get(normalizePhone(phone));
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Looks a user up by username (case-insensitive, without `@`). */
  byUserName(username: string): UserRecord | undefined {
    const id = this.byUsername.get(username.replace(/^@/, '').toLowerCase());
    return id === undefined ? undefined : this.byId.get(id);
  }

  all(): UserRecord[] {
    return [...this.byId.values()];
  }

  /** JSON snapshot. */
  toJSON(): UserRecord[] {
    return this.all();
  }

  /** Restores a snapshot made by {@link toJSON}. */
  load(rows: UserRecord[]): void {
    for (const row of rows) this.insert(row);
  }
}
