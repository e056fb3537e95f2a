package org.fusedstage.zoo;

import ai.djl.Application;
import ai.djl.MalformedModelException;
import ai.djl.repository.MRL;
import ai.djl.repository.Repository;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelLoader;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.util.Progress;
import ai.djl.util.Utils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Properties;

/**
 * Loads a zoo model whose files live on the class path: unpacks the TorchScript file and its
 * {@code metadata.properties} into DJL's cache folder (once per content hash, so a changed
 * artifact never reuses a stale copy) and loads it from there. Nothing is downloaded.
 */
final class ClasspathModelLoader implements ModelLoader {

    private final String groupId;
    private final String artifactId;
    private final String resourceFolder;

    ClasspathModelLoader(String groupId, String artifactId, String resourceFolder) {
        this.groupId = groupId;
        this.artifactId = artifactId;
        this.resourceFolder = resourceFolder;
    }

    @Override
    public String getGroupId() {
        return groupId;
    }

    @Override
    public String getArtifactId() {
        return artifactId;
    }

    @Override
    public Application getApplication() {
        return Application.UNDEFINED;
    }

    @Override
    public MRL getMrl() {
        Repository repository = Repository.newInstance(artifactId, "jar:///" + resourceFolder + modelFile());
        return repository.model(Application.UNDEFINED, groupId, artifactId, "0.1.0");
    }

    @Override
    public <I, O> ZooModel<I, O> loadModel(Criteria<I, O> criteria)
            throws IOException, ModelNotFoundException, MalformedModelException {
        Path folder = unpack();
        String file = modelFile();
        Criteria<I, O> local = Criteria.builder()
                .setTypes(criteria.getInputClass(), criteria.getOutputClass())
                .optEngine(criteria.getEngine())
                .optDevice(criteria.getDevice())
                .optOptions(criteria.getOptions())
                .optArguments(criteria.getArguments())
                .optModelPath(folder)
                .optModelName(file.substring(0, file.lastIndexOf('.')))
                .optTranslator(null)
                .optProgress(criteria.getProgress())
                .build();
        return local.loadModel();
    }

    @Override
    public <I, O> boolean isDownloaded(Criteria<I, O> criteria) {
        return true; // packaged in the jar
    }

    @Override
    public <I, O> void downloadModel(Criteria<I, O> criteria, Progress progress) {
        // Nothing to download: the model is packaged in the jar.
    }

    private String modelFile() {
        String file = property("file");
        if (file == null) {
            throw new IllegalStateException(resourceFolder + "metadata.properties has no 'file' key");
        }
        return file;
    }

    private String property(String key) {
        try (InputStream in = resource("metadata.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(key);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read metadata of zoo model " + artifactId, e);
        }
    }

    private Path unpack() throws IOException {
        String file = modelFile();
        byte[] model = readResource(file);
        byte[] metadata = readResource("metadata.properties");
        String stepFile = property("step_file");
        byte[] step = stepFile == null ? new byte[0] : readResource(stepFile);
        String hash = sha256(model, metadata, step).substring(0, 16);
        Path folder = Utils.getCacheDir().resolve("fusedstage-zoo").resolve(artifactId + "-" + hash);
        Path target = folder.resolve(file);
        if (!Files.isRegularFile(target) || Files.size(target) != model.length) {
            Files.createDirectories(folder);
            Files.write(folder.resolve("metadata.properties"), metadata);
            if (stepFile != null) {
                Files.write(folder.resolve(stepFile), step);
            }
            Path tmp = Files.createTempFile(folder, file, ".part");
            Files.write(tmp, model);
            // Atomic rename: a concurrent loader never sees a half-written model.
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return folder;
    }

    private byte[] readResource(String name) throws IOException {
        try (InputStream in = resource(name)) {
            return in.readAllBytes();
        }
    }

    private InputStream resource(String name) throws IOException {
        InputStream in = ClasspathModelLoader.class.getClassLoader().getResourceAsStream(resourceFolder + name);
        if (in == null) {
            throw new IOException("zoo resource " + resourceFolder + name + " is missing from the jar");
        }
        return in;
    }

    private static String sha256(byte[]... parts) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (byte[] part : parts) {
                digest.update(part);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "ClasspathModelLoader(" + groupId + ":" + artifactId + ")";
    }
}
