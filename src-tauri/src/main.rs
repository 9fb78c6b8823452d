fn main() {
    patchbay_app_lib::run()
}
