/** One host's fields in the Hosts view: where it is, how to log in, how to get root. */
import type { HostSetupInput, HostSetupView, SecretSource } from '../../../../shared/src/hosts-api';

export type AuthType = 'key' | 'agent' | 'password';
export type SudoChoice = 'none' | 'passwordless' | 'password';
/** The jump host's login: 'host' is the host's own key or agent (no proxyJumpAuth). */
export type JumpAuthType = 'host' | AuthType;

/** The form's state: text as typed; secrets typed here are sent once, on save, and never shown back. */
export interface HostFormState {
  name: string;
  address: string;
  port: string;
  user: string;
  experimentAddress: string;
  authType: AuthType;
  keyFile: string;
  passphrase: string;
  passphraseSource: SecretSource;
  password: string;
  passwordSource: SecretSource;
  sudo: SudoChoice;
  sudoPassword: string;
  sudoSource: SecretSource;
  proxyJump: string;
  jumpAuthType: JumpAuthType;
  jumpKeyFile: string;
  jumpPassphrase: string;
  jumpPassphraseSource: SecretSource;
  jumpPassword: string;
  jumpPasswordSource: SecretSource;
}

const NONE: SecretSource = { kind: 'none' };

export function emptyForm(): HostFormState {
  return {
    name: '',
    address: '',
    port: '22',
    user: '',
    experimentAddress: '',
    authType: 'key',
    keyFile: '~/.ssh/id_ed25519',
    passphrase: '',
    passphraseSource: NONE,
    password: '',
    passwordSource: NONE,
    sudo: 'passwordless',
    sudoPassword: '',
    sudoSource: NONE,
    proxyJump: '',
    jumpAuthType: 'host',
    jumpKeyFile: '~/.ssh/id_ed25519',
    jumpPassphrase: '',
    jumpPassphraseSource: NONE,
    jumpPassword: '',
    jumpPasswordSource: NONE,
  };
}

export function formFromView(view: HostSetupView): HostFormState {
  return {
    ...emptyForm(),
    name: view.name,
    address: view.address,
    port: String(view.port),
    user: view.user,
    experimentAddress: view.experimentAddress ?? '',
    authType: view.auth.type,
    keyFile: view.auth.type === 'key' ? view.auth.keyFile : '~/.ssh/id_ed25519',
    passphraseSource: view.auth.type === 'key' ? view.auth.passphrase : NONE,
    passwordSource: view.auth.type === 'password' ? view.auth.password : NONE,
    sudo: view.sudo,
    sudoSource: view.sudoPassword,
    proxyJump: view.proxyJump ?? '',
    jumpAuthType: view.proxyJumpAuth?.type ?? 'host',
    jumpKeyFile: view.proxyJumpAuth?.type === 'key' ? view.proxyJumpAuth.keyFile : '~/.ssh/id_ed25519',
    jumpPassphraseSource: view.proxyJumpAuth?.type === 'key' ? view.proxyJumpAuth.passphrase : NONE,
    jumpPasswordSource: view.proxyJumpAuth?.type === 'password' ? view.proxyJumpAuth.password : NONE,
  };
}

/** What is sent to the engine; it validates everything again. An empty secret field keeps the kept one. */
export function formToInput(form: HostFormState): HostSetupInput {
  const auth: HostSetupInput['auth'] =
    form.authType === 'key'
      ? { type: 'key', keyFile: form.keyFile.trim(), ...(form.passphrase ? { passphrase: form.passphrase } : {}) }
      : form.authType === 'agent'
        ? { type: 'agent' }
        : { type: 'password', ...(form.password ? { password: form.password } : {}) };
  const jumpAuth: HostSetupInput['proxyJumpAuth'] =
    form.jumpAuthType === 'key'
      ? { type: 'key', keyFile: form.jumpKeyFile.trim(), ...(form.jumpPassphrase ? { passphrase: form.jumpPassphrase } : {}) }
      : form.jumpAuthType === 'agent'
        ? { type: 'agent' }
        : form.jumpAuthType === 'password'
          ? { type: 'password', ...(form.jumpPassword ? { password: form.jumpPassword } : {}) }
          : undefined;
  return {
    name: form.name.trim(),
    address: form.address.trim(),
    port: /^\d+$/.test(form.port.trim()) ? Number(form.port.trim()) : Number.NaN,
    ...(form.experimentAddress.trim() ? { experimentAddress: form.experimentAddress.trim() } : {}),
    user: form.user.trim(),
    auth,
    sudo: form.sudo,
    ...(form.sudo === 'password' && form.sudoPassword ? { sudoPassword: form.sudoPassword } : {}),
    ...(form.proxyJump.trim() ? { proxyJump: form.proxyJump.trim(), ...(jumpAuth ? { proxyJumpAuth: jumpAuth } : {}) } : {}),
  };
}

function describeSource(source: SecretSource): string {
  switch (source.kind) {
    case 'none':
      return '';
    case 'stored':
      return 'kept by TCP Lab: leave empty to keep it';
    case 'missing':
      return 'not kept any more (browser mode forgets on restart): enter it again';
    case 'file':
      return `read from ${source.file}: leave empty to keep that`;
    case 'env':
      return `read from $${source.name}: leave empty to keep that`;
  }
}

const input =
  'w-full rounded border border-slate-300 bg-white px-2 py-1 text-[13px] focus:border-sky-600 focus:outline-none dark:border-slate-600 dark:bg-slate-950';
const labelText = 'mb-0.5 block text-[11.5px] font-medium text-slate-600 dark:text-slate-300';

function Field({ label, hint, children }: { label: string; hint?: string; children: React.ReactNode }) {
  return (
    <label className="block">
      <span className={labelText}>{label}</span>
      {children}
      {hint && <span className="mt-0.5 block text-[11px] text-slate-500">{hint}</span>}
    </label>
  );
}

/** A key file and its passphrase: the host's own login and the jump host's. `testId` prefixes `key-file` and `passphrase`. */
function KeyFields(props: {
  fileLabel: string;
  testId: string;
  keyFile: string;
  passphrase: string;
  passphraseSource: SecretSource;
  onKeyFile: (value: string) => void;
  onPassphrase: (value: string) => void;
}) {
  return (
    <div className="grid grid-cols-[minmax(0,1fr)_9rem] gap-2">
      <Field label={props.fileLabel}>
        <input className={input} data-testid={`${props.testId}key-file`} value={props.keyFile} onChange={(e) => props.onKeyFile(e.target.value)} />
      </Field>
      <Field label="Passphrase (if any)" hint={describeSource(props.passphraseSource)}>
        <input className={input} type="password" autoComplete="off" data-testid={`${props.testId}passphrase`} value={props.passphrase} onChange={(e) => props.onPassphrase(e.target.value)} />
      </Field>
    </div>
  );
}

export function HostForm({ label, form, onChange }: { label: 'H1' | 'H2'; form: HostFormState; onChange: (next: HostFormState) => void }) {
  const set = <K extends keyof HostFormState>(key: K, value: HostFormState[K]) => onChange({ ...form, [key]: value });
  const id = (field: string) => `hosts-${label}-${field}`;
  return (
    <fieldset className="min-w-0 rounded-lg border border-slate-300 p-3 dark:border-slate-700" data-testid={`host-form-${label}`}>
      <legend className="px-1 text-sm font-bold">{label}</legend>
      <div className="grid grid-cols-[1fr_1fr_5rem] gap-2">
        <Field label="Label">
          <input className={input} data-testid={id('name')} value={form.name} placeholder="e.g. bench 3, left PC" onChange={(e) => set('name', e.target.value)} />
        </Field>
        <Field label="Address">
          <input className={input} data-testid={id('address')} value={form.address} placeholder="192.168.56.11" onChange={(e) => set('address', e.target.value)} />
        </Field>
        <Field label="Port">
          <input className={input} data-testid={id('port')} value={form.port} inputMode="numeric" onChange={(e) => set('port', e.target.value)} />
        </Field>
        <Field label="User">
          <input className={input} data-testid={id('user')} value={form.user} placeholder="lab" onChange={(e) => set('user', e.target.value)} />
        </Field>
        <div className="col-span-2">
          <Field label="Experiment address (optional)" hint="How the other host reaches this one, if not the address above.">
            <input className={input} data-testid={id('experiment-address')} value={form.experimentAddress} onChange={(e) => set('experimentAddress', e.target.value)} />
          </Field>
        </div>
      </div>

      <div className="mt-2 grid grid-cols-[10rem_1fr] gap-2">
        <Field label="Authentication">
          <select className={input} data-testid={id('auth')} value={form.authType} onChange={(e) => set('authType', e.target.value as AuthType)}>
            <option value="key">Key file</option>
            <option value="agent">ssh-agent</option>
            <option value="password">Password</option>
          </select>
        </Field>
        {form.authType === 'key' && (
          <KeyFields
            fileLabel="Key file (private key)"
            testId={id('')}
            keyFile={form.keyFile}
            passphrase={form.passphrase}
            passphraseSource={form.passphraseSource}
            onKeyFile={(v) => set('keyFile', v)}
            onPassphrase={(v) => set('passphrase', v)}
          />
        )}
        {form.authType === 'agent' && <p className="self-end pb-1 text-[12px] text-slate-500">Uses the keys of the ssh-agent named by $SSH_AUTH_SOCK.</p>}
        {form.authType === 'password' && (
          <Field label="Password" hint={describeSource(form.passwordSource)}>
            <input className={input} type="password" autoComplete="off" data-testid={id('password')} value={form.password} onChange={(e) => set('password', e.target.value)} />
          </Field>
        )}
      </div>

      <div className="mt-2 grid grid-cols-[10rem_1fr] gap-2">
        <Field label="Root through sudo">
          <select className={input} data-testid={id('sudo')} value={form.sudo} onChange={(e) => set('sudo', e.target.value as SudoChoice)}>
            <option value="none">Not needed (root login)</option>
            <option value="passwordless">Passwordless sudo</option>
            <option value="password">sudo with password</option>
          </select>
        </Field>
        {form.sudo === 'password' ? (
          <Field label="sudo password" hint={describeSource(form.sudoSource)}>
            <input className={input} type="password" autoComplete="off" data-testid={id('sudo-password')} value={form.sudoPassword} onChange={(e) => set('sudoPassword', e.target.value)} />
          </Field>
        ) : (
          <span />
        )}
      </div>

      <div className="mt-2">
        <Field label="Jump host (ProxyJump, optional)" hint="[user@]host[:port]: connect through this host, as ssh -J does.">
          <input className={input} data-testid={id('proxy-jump')} value={form.proxyJump} placeholder="lab@gateway.example.org" onChange={(e) => set('proxyJump', e.target.value)} />
        </Field>
      </div>
      {form.proxyJump.trim() !== '' && (
        <div className="mt-2 grid grid-cols-[10rem_1fr] gap-2" data-testid={id('jump-auth-fields')}>
          <Field label="Jump host login">
            <select className={input} data-testid={id('jump-auth')} value={form.jumpAuthType} onChange={(e) => set('jumpAuthType', e.target.value as JumpAuthType)}>
              <option value="host">Same as this host</option>
              <option value="key">Key file</option>
              <option value="agent">ssh-agent</option>
              <option value="password">Password</option>
            </select>
          </Field>
          {form.jumpAuthType === 'host' && (
            <p className="self-end pb-1 text-[12px] text-slate-500">
              {form.authType === 'password' ? 'This host logs in with a password, which is never sent to the jump host: choose the jump host’s own login.' : 'The jump host is logged in to with this host’s key or agent.'}
            </p>
          )}
          {form.jumpAuthType === 'key' && (
            <KeyFields
              fileLabel="Jump host key file"
              testId={id('jump-')}
              keyFile={form.jumpKeyFile}
              passphrase={form.jumpPassphrase}
              passphraseSource={form.jumpPassphraseSource}
              onKeyFile={(v) => set('jumpKeyFile', v)}
              onPassphrase={(v) => set('jumpPassphrase', v)}
            />
          )}
          {form.jumpAuthType === 'agent' && <p className="self-end pb-1 text-[12px] text-slate-500">The jump host is logged in to with the ssh-agent’s keys ($SSH_AUTH_SOCK).</p>}
          {form.jumpAuthType === 'password' && (
            <Field label="Jump host password" hint={describeSource(form.jumpPasswordSource)}>
              <input className={input} type="password" autoComplete="off" data-testid={id('jump-password')} value={form.jumpPassword} onChange={(e) => set('jumpPassword', e.target.value)} />
            </Field>
          )}
        </div>
      )}
    </fieldset>
  );
}
