/**
 * desktop-launch.js — a failure at launch, said on the home screen (Tauri only).
 *
 * Owns: asking Rust's `launch_problem` (src-tauri/src/launch.rs) while
 * hosting that the settings ask for at launch may still be starting, and
 * showing its sentence ("Hosting did not start with Hearth: …") in
 * `#desktop-notice`. The notice goes as any other does: the next time the
 * home screen is shown (desktop.js).
 *
 * `watchLaunch(core, {tries, everyMs})` once, after the saved rooms are read.
 */

export async function watchLaunch(core, { tries = 60, everyMs = 500 } = {}) {
  const pause = () => new Promise((resolve) => setTimeout(resolve, everyMs));
  // The home screen first (its first showHome sets the notice it starts with).
  for (let i = 0; i < tries && !document.querySelector('#boot')?.hidden; i++) await pause();
  for (let i = 0; i < tries; i++) {
    let problem = null;
    try {
      problem = await core.invoke('launch_problem');
    } catch {
      return; // an app without the command: nothing to say
    }
    if (problem) {
      const notice = document.querySelector('#desktop-notice');
      if (notice) {
        notice.textContent = problem;
        notice.hidden = false;
      }
      return;
    }
    const status = await core.invoke('host_status').catch(() => null);
    if (status?.running || (status && !status.start_on_launch)) return;
    await pause();
  }
}
