package org.fusedstage.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.fusedstage.model.PotentialImporter;
import org.fusedstage.model.PotentialMetadata;
import org.fusedstage.model.ZooCatalog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fused-stage import-potential}: a LAMMPS EAM parameter file as a TorchScript potential folder. */
@Command(name = "import-potential", mixinStandardHelpOptions = true,
        description = "Convert a LAMMPS EAM (eam, eam/alloy, eam/fs) or SNAP (.snapcoeff/.snapparam/.snap) file into a "
                + "potential folder for --model (needs python3-torch). Files come from your installation, e.g. "
                + "/usr/share/lammps/potentials.")
final class ImportPotentialCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "The parameter file, e.g. /usr/share/lammps/potentials/Cu_mishin1.eam.alloy.")
    Path file;

    @Option(names = "--format", description = "eam, eam/alloy, eam/fs or snap (default: from the file name).")
    String format;

    @Option(names = "--output", required = true, description = "The folder to create (it must not exist, or be empty).")
    Path output;

    @Override
    public Integer call() throws Exception {
        PotentialImporter.Format f = format == null ? null : PotentialImporter.Format.ofStyle(format);
        RunCommand.importer().importFile(file, f, output);
        PotentialMetadata metadata = PotentialMetadata.read(output.resolve("metadata.properties"));
        System.out.print(ZooCatalog.header() + ZooCatalog.row(output.toString(), metadata));
        System.out.println("use it with: ./fused-stage run --model " + output);
        return ExitCode.OK;
    }
}
