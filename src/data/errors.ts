// Errors in user data (paths, encodings, sizes, tokenizer specs). The CLI prints `error: <message>` for this class
// without a stack trace, so every message is one line that names the offending value and says how to fix it.
import { UserError } from '../errors.js';

export class DataError extends UserError {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'DataError';
  }
}
