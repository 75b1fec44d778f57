// Plain words for what an alert is about: the action vocabulary of the
// event schema turned into phrases, and a one-sentence summary of an
// alert, richer when the decision's (masked) event is at hand.

const PHRASES = {
  'logon': 'logged on',
  'logoff': 'logged off',
  'screen-lock': 'locked the screen',
  'screen-unlock': 'unlocked the screen',
  'device-connected': 'connected a device',
  'device-disconnected': 'disconnected a device',
  'volume-mounted': 'mounted a volume',
  'volume-unmounted': 'unmounted a volume',
  'file-created': 'created a file',
  'file-modified': 'changed a file',
  'file-deleted': 'deleted a file',
  'file-renamed': 'renamed a file',
  'file-copied-to-removable': 'copied a file to removable media',
  'file-copied-to-cloud-sync': 'copied a file into a cloud sync folder',
  'connection-opened': 'opened a network connection',
  'web-visit': 'visited a web site',
  'web-download': 'downloaded a file',
  'web-upload': 'uploaded data to a web site',
  'email-sent': 'sent an email',
  'print-job': 'printed a document',
  'clipboard-copy': 'copied to the clipboard',
  'clipboard-cut': 'cut to the clipboard',
  'clipboard-paste': 'pasted from the clipboard',
  'process-started': 'started a program',
  'process-ended': 'ended a program',
  'window-focused': 'switched window',
  'command-executed': 'ran a command',
  'agent-started': 'agent started',
  'agent-stopped': 'agent stopped',
  'sensor-failed': 'a sensor failed',
  'events-dropped': 'the agent dropped events',
  'policy-activated': 'a policy was activated',
};

export function actionPhrase(action) {
  return PHRASES[action] || (action ? action.replaceAll('-', ' ') : 'did something');
}

// summary is one sentence: who did what, where (and with what, when the
// event is known).
export function summary(alert, ev) {
  const who = alert.user || 'Someone';
  let what = actionPhrase(alert.action);
  if (ev) {
    const f = ev.file || {};
    const name = f.name || (f.path ? f.path.split(/[\\/]/).pop() : '');
    switch (alert.action) {
      case 'file-copied-to-removable': {
        const vol = ev.volume || {};
        const where = vol.label || vol.vendor_name || vol.mount_point || 'removable media';
        if (name) what = `copied ${name} to ${where}`;
        break;
      }
      case 'file-copied-to-cloud-sync':
        if (name) what = `copied ${name} into a ${ev.destination?.cloud_provider || 'cloud'} sync folder`;
        break;
      case 'web-upload': {
        const d = ev.destination?.domain || ev.url?.domain;
        what = `uploaded ${name || 'data'}${d ? ` to ${d}` : ''}`;
        break;
      }
      case 'email-sent': {
        const n = ev.email?.external_recipients;
        const att = ev.email?.attachments?.length;
        what = `sent an email${att ? ` with ${att} attachment${att === 1 ? '' : 's'}` : ''}${n ? ` to ${n} outside recipient${n === 1 ? '' : 's'}` : ''}`;
        break;
      }
      case 'print-job': {
        const p = ev.print || {};
        const pages = p.pages ? ` (${p.pages * (p.copies || 1)} pages)` : '';
        what = `printed ${p.document_title ? `“${p.document_title}”` : 'a document'}${pages}`;
        break;
      }
      case 'command-executed':
        if (ev.command?.line) what = `ran ${ev.command.line.length > 60 ? ev.command.line.slice(0, 59) + '…' : ev.command.line}`;
        break;
      default:
        if (name) what = `${what}: ${name}`;
    }
  }
  return `${who} ${what}${alert.host ? ` on ${alert.host}` : ''}.`;
}
