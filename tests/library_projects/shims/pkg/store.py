from klepto.archives import file_archive as archive
