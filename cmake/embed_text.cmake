# Writes a C header that defines one string-literal macro holding a text file, so that C code
# can concatenate it with other literals at compile time. Run with cmake -P and
#   -DINPUT=<file> -DOUTPUT=<header> -DMACRO=<name>
file(READ "${INPUT}" text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\" \\\n    \"" text "${text}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
     "/* Generated from ${name} by cmake/embed_text.cmake: edit that file, not this one. */\n"
     "#ifndef ${MACRO}_H\n#define ${MACRO}_H\n\n"
     "#define ${MACRO} \\\n    \"${text}\"\n\n#endif\n")
configure_file("${OUTPUT}.tmp" "${OUTPUT}" COPYONLY) # unchanged: left alone
file(REMOVE "${OUTPUT}.tmp")
