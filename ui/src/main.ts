import { mount, type Component } from 'svelte';
import { getCurrentWebviewWindow } from '@tauri-apps/api/webviewWindow';
import './app.css';
import App from './App.svelte';
import Display from './components/Display.svelte';

/** The label of this webview's window: `display` is the customer display (docs/ui-contract.md);
 * anything else, or no Tauri at all (a plain browser), is the clerk window. */
function windowLabel(): string {
  try {
    return getCurrentWebviewWindow().label;
  } catch {
    return 'main';
  }
}

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');

const root: Component = windowLabel() === 'display' ? Display : App;

export default mount(root, { target });
