export { purchase } from './purchase';
export { latePayment } from './late-payment';
