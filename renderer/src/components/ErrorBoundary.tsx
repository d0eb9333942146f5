/** A rendering bug must not leave a blank window: say so, and offer the one fix that always works. */
import { Component, type ReactNode } from 'react';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="m-10 max-w-2xl rounded-lg border border-red-300 bg-white p-6 dark:bg-slate-900">
        <h1 className="mb-2 text-lg font-semibold">TCP Lab hit a bug in its window</h1>
        <p className="mb-3 text-sm">The hosts and any running experiment are unaffected (the engine runs separately). Reload the page to carry on.</p>
        <pre className="overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{this.state.error.message}</pre>
        <button type="button" onClick={() => location.reload()} className="mt-3 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white">
          Reload
        </button>
      </div>
    );
  }
}
