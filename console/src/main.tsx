import './styles.css';
import { startFirstLoad } from './first-load';

// The entry is this small chunk: it starts the first load's API calls, then loads the app (React, the
// router, the pages), whose chunk index.html already preloads, so the calls and the code travel together.
startFirstLoad(window.location.pathname);
import('./app').catch(() => {
  document.getElementById('root')!.textContent = 'The console could not load its code: reload the page.';
});
