// Placeholder: replaced by the distro bench driver.
print("distrobench")
