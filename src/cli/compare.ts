// `mod compare`: dense vs Mixture-of-Depths at equal compute. Not built yet.
import type { Command } from 'commander';
import { UserError } from '../errors.js';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('train dense and Mixture-of-Depths models at equal compute and compare them (not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UserError('mod compare is not implemented yet');
    });
}
